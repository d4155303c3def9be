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

/** A table with a caption, header row and body rows; wide tables scroll sideways on a phone. */
export function table(caption: string, headers: string[], rows: Child[][], empty = "Nothing yet."): HTMLElement {
  const body =
    rows.length === 0
      ? [h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, empty))]
      : rows.map((cells) => h("tr", {}, ...cells.map((cell) => h("td", {}, cell))));
  return h(
    "div",
    { class: "table-wrap", tabindex: 0, role: "region", "aria-label": caption },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, ...headers.map((header) => h("th", { scope: "col" }, header)))),
      h("tbody", {}, ...body),
    ),
  );
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
