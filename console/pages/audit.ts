import { type AdminApi, type AuditRow, messageOf } from "../api";
import { field, fill, h, notice, table } from "../dom";
import { formatTime } from "../format";

/** The audit log: newest first, a page at a time, filtered by actor and action. */
export async function renderAudit(root: HTMLElement, api: AdminApi): Promise<void> {
  const list = h("div", {});
  const pager = h("nav", { class: "pager", "aria-label": "Audit log pages" });
  const actor = h("input", { name: "actor", autocomplete: "off", placeholder: "admin, chatgpt, stripe, user:…" });
  const action = h("input", {
    name: "action",
    autocomplete: "off",
    placeholder: "grant, revoke, trigger, key_create…",
  });
  const size = h("select", { name: "limit" }, ...["10", "50", "200"].map((n) => h("option", { value: n }, n)));
  size.value = "50";
  // The cursors of the pages before this one, to go back; the relay pages forwards only.
  let earlier: Array<string | undefined> = [];
  let cursor: string | undefined;
  let page = 1;

  const load = async () => {
    const filters = { actor: actor.value.trim() || undefined, action: action.value.trim() || undefined };
    const named = Object.entries(filters).flatMap(([name, value]) => (value ? [`, ${name} ${value}`] : []));
    try {
      const answer = await api.get<{ records: AuditRow[]; next_cursor: string | null }>("/admin/audit", {
        limit: size.value,
        cursor,
        ...filters,
      });
      fill(
        list,
        table(
          `Audit log, page ${page}${named.join("")}, newest first`,
          ["When", "Actor", "Action", "Target", "Outcome"],
          answer.records.map((record) => [
            formatTime(record.at),
            record.actor,
            record.action,
            h("code", {}, record.target),
            record.dry_run ? `${record.outcome} (dry run)` : record.outcome,
          ]),
          "No records.",
        ),
      );
      const next = answer.next_cursor;
      fill(
        pager,
        h(
          "button",
          {
            type: "button",
            disabled: page === 1,
            onclick: async () => {
              cursor = earlier.pop();
              page -= 1;
              await load();
            },
          },
          "← Newer",
        ),
        h("span", {}, ` Page ${page} `),
        h(
          "button",
          {
            type: "button",
            disabled: next === null,
            onclick: async () => {
              earlier.push(cursor);
              cursor = next ?? undefined;
              page += 1;
              await load();
            },
          },
          "Older →",
        ),
      );
    } catch (error) {
      fill(list, notice("error", messageOf(error)));
    }
  };

  const filter = h(
    "form",
    {
      class: "panel row",
      role: "search",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        earlier = [];
        cursor = undefined;
        page = 1;
        await load();
      },
    },
    field("Actor", actor),
    field("Action", action),
    field("Rows per page", size),
    h("button", { type: "submit" }, "Show"),
  );

  fill(root, filter, list, pager);
  await load();
}
