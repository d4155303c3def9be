import uPlot from "uplot";
import { h } from "./dom";

/** One series of a chart: its label and one value per day. */
export type Line = { label: string; values: number[] };

// Okabe and Ito's palette, told apart by most colour-blind readers; every series also has its own dash pattern
// on its bars' outline, and the legend and the table beside each chart carry the numbers, so no series is
// known by its colour alone.
const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
const DASHES = [[], [10, 4], [2, 3], [12, 3, 3, 3], [6, 6], [1, 4], [16, 4, 2, 4, 2, 4]];

const HEIGHT = 240;
const HALF_DAY = 43_200;

/**
 * The series stacked: the k-th holds the sum of series k and all after it, so drawn in order each paints its
 * own share on top of the ones below it. A day on which the stack is empty draws no bar at all.
 */
function stacked(lines: Line[], days: number): Array<Array<number | null>> {
  const stack: Array<Array<number | null>> = [];
  let below = Array.from({ length: days }, () => 0);
  for (let k = lines.length - 1; k >= 0; k--) {
    below = below.map((sum, day) => sum + (lines[k]?.values[day] ?? 0));
    stack.unshift(below.map((sum) => (sum === 0 ? null : sum)));
  }
  return stack;
}

/**
 * Stacked bars of values per UTC day (uPlot on a canvas), in a figure whose caption names it. Bars, not lines:
 * a day is a count of its own, and a month whose use sits on a few days shows those days, not a flat line with
 * a spike. The chart follows its container's width, so it fits a phone as well as a desktop. Returns a
 * function that removes it.
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
  const bars = uPlot.paths.bars?.({ size: [0.7, 48], align: 0 });
  const chart = new uPlot(
    {
      width: Math.max(plot.clientWidth, 280),
      height: HEIGHT,
      // Days are UTC days: the axis says so whatever the browser's time zone.
      tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"),
      scales: {
        // Half a day more on each side, so the first and the last day's bars are whole.
        x: { time: true, range: (_, min, max) => [min - HALF_DAY, max + HALF_DAY] },
        y: { range: (_, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [{}, { values: (_, ticks) => ticks.map(format), size: 70 }],
      series: [
        { label: "Day (UTC)", value: "{YYYY}-{MM}-{DD}" },
        ...lines.map((line, i) => ({
          label: line.label,
          stroke: COLOURS[i % COLOURS.length],
          fill: `${COLOURS[i % COLOURS.length]}b3`,
          dash: DASHES[i % DASHES.length],
          width: 1.5,
          paths: bars,
          points: { show: false },
          // The legend shows each series' own value on the day under the cursor, not its height in the stack.
          value: (_: uPlot, _value: number | null, _series: number, day: number | null) =>
            day === null ? "—" : format(line.values[day] ?? 0),
        })),
      ],
    },
    [x, ...stacked(lines, days.length)],
    plot,
  );
  const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(plot.clientWidth, 280), height: HEIGHT }));
  resize.observe(plot);
  return () => {
    resize.disconnect();
    chart.destroy();
  };
}
