import uPlot from "uplot";
import { h } from "./dom";

/** One line of a chart: its label and one value per day. */
export type Line = { label: string; values: number[] };

// Okabe and Ito's palette, told apart by most colour-blind readers; every line also has its own dash pattern,
// and the legend and the table beside each chart carry the numbers, so no line is known by its colour alone.
const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
const DASHES = [[], [10, 4], [2, 3], [12, 3, 3, 3], [6, 6], [1, 4], [16, 4, 2, 4, 2, 4]];

const HEIGHT = 240;

/**
 * A line chart of values per UTC day (uPlot on a canvas), in a figure whose caption names it; it follows its
 * container's width, so it fits a phone as well as a desktop. Returns a function that removes it.
 */
export function dailyChart(
  container: HTMLElement,
  caption: string,
  days: string[],
  lines: Line[],
  format: (value: number) => string,
): () => void {
  const plot = h("div", { class: "chart" });
  container.append(h("figure", {}, h("figcaption", {}, caption), plot));
  const x = days.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000);
  const chart = new uPlot(
    {
      width: Math.max(plot.clientWidth, 280),
      height: HEIGHT,
      // Days are UTC days: the axis says so whatever the browser's time zone.
      tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"),
      scales: { x: { time: true } },
      axes: [{}, { values: (_, ticks) => ticks.map(format), size: 70 }],
      series: [
        { label: "Day (UTC)", value: "{YYYY}-{MM}-{DD}" },
        ...lines.map((line, i) => ({
          label: line.label,
          stroke: COLOURS[i % COLOURS.length],
          dash: DASHES[i % DASHES.length],
          width: 2,
          points: { show: true, size: 5 },
          value: (_: uPlot, value: number | null) => (value === null ? "—" : format(value)),
        })),
      ],
    },
    [x, ...lines.map((line) => line.values)],
    plot,
  );
  const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(plot.clientWidth, 280), height: HEIGHT }));
  resize.observe(plot);
  return () => {
    resize.disconnect();
    chart.destroy();
  };
}
