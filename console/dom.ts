/**
 * The console builds its DOM from nodes, never from HTML strings: every value from the relay becomes text,
 * so nothing it shows can run as markup (and the page's Trusted Types policy forbids HTML strings anyway).
 */

type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

/** An element with attributes (`on…` ones become listeners; false and null leave the attribute out) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  element.append(...nodes(children));
  return element;
}

/** Children as nodes and strings; null, undefined and false are left out. */
function nodes(children: Child[]): Array<Node | string> {
  return children.flatMap((child) =>
    child === null || child === undefined || child === false ? [] : [typeof child === "number" ? String(child) : child],
  );
}

/** Replaces an element's children. */
export function fill(element: Element, ...children: Child[]): void {
  element.replaceChildren(...nodes(children));
}

/** How a table shows beyond its cells. */
export type TableOptions = {
  /** A class per body row (`revoked` greys a row out; the row must say so in words too). */
  rowClasses?: Array<string | null>;
  /** The last column holds each row's buttons: it stays in view at the right edge while the table scrolls. */
  actions?: boolean;
};

/**
 * A table with a caption, header row and body rows. A table wider than the screen (on a phone) scrolls
 * sideways inside its own box, and says so: a line of text above it, and a shadow on the side that has more.
 */
export function table(
  caption: string,
  headers: string[],
  rows: Child[][],
  empty = "Nothing yet.",
  { rowClasses = [], actions = false }: TableOptions = {},
): HTMLElement {
  const cell = (tag: "td" | "th", column: number, attributes: Attributes, child: Child) =>
    h(tag, { ...attributes, class: actions && column === headers.length - 1 ? "actions" : null }, child);
  const body =
    rows.length === 0
      ? [h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, empty))]
      : rows.map((cells, row) =>
          h("tr", { class: rowClasses[row] ?? null }, ...cells.map((child, column) => cell("td", column, {}, child))),
        );
  const scroller = h(
    "div",
    { class: "table-wrap", tabindex: 0, role: "region", "aria-label": caption },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, ...headers.map((header, column) => cell("th", column, { scope: "col" }, header)))),
      h("tbody", {}, ...body),
    ),
  );
  const hint = h("p", { class: "scroll-hint", hidden: true }, "Wider than the screen: scroll the table sideways →");
  const frame = h("div", { class: actions ? "table-frame with-actions" : "table-frame" }, scroller);
  watchOverflow(scroller, frame, hint);
  return h("div", { class: "table-box" }, hint, frame);
}

/** Shows the hint while `scroller` is wider than its box, and marks the frame on the sides that have more. */
function watchOverflow(scroller: HTMLElement, frame: HTMLElement, hint: HTMLElement): void {
  const update = () => {
    const hidden = scroller.scrollWidth - scroller.clientWidth;
    hint.hidden = hidden <= 1;
    frame.toggleAttribute("data-more-left", hidden > 1 && scroller.scrollLeft > 1);
    frame.toggleAttribute("data-more-right", hidden > 1 && scroller.scrollLeft < hidden - 1);
  };
  const resize = new ResizeObserver(update);
  resize.observe(scroller);
  if (scroller.firstElementChild) resize.observe(scroller.firstElementChild);
  scroller.addEventListener("scroll", update, { passive: true });
}

let fields = 0;

/**
 * A labelled form field. The label points at its control by id rather than wrapping it, so that the control's
 * accessible name is the label alone (a wrapped select would add its options); the hint describes it.
 */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  fields += 1;
  control.id ||= `field-${fields}`;
  const help = hint ? h("small", { id: `${control.id}-hint` }, hint) : null;
  if (help) control.setAttribute("aria-describedby", help.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, help);
}

/** A message in the page's live region (read out by screen readers); errors say so in words, not colour. */
export function notice(kind: "ok" | "error", text: string): HTMLElement {
  return h(
    "p",
    { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" },
    h("strong", {}, kind === "error" ? "Failed: " : "Done: "),
    text,
  );
}
