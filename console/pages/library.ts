import { type AdminApi, type LibraryItem, messageOf } from "../api";
import { field, fill, h, notice, table } from "../dom";
import { formatBytes, formatTime } from "../format";

const TIERS = ["monthly", "quarterly", "yearly"];
const PAGE = 50;

/** Percent-encodes each segment of a library path, keeping its slashes. */
function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** The library: every item with its SKU or tier, a page at a time, and an upload with its metadata. */
export async function renderLibrary(root: HTMLElement, api: AdminApi): Promise<void> {
  const status = h("div", { class: "status", "aria-live": "polite" });
  const list = h("div", {});
  const more = h("div", {});
  let rows: LibraryItem[] = [];

  const prefix = h("input", { name: "prefix", autocomplete: "off", placeholder: "books/" });
  const load = async (cursor?: string) => {
    try {
      const page = await api.get<{ items: LibraryItem[]; next_cursor: string | null }>("/admin/library", {
        prefix: prefix.value.trim() || undefined,
        limit: PAGE,
        cursor,
      });
      rows = cursor ? [...rows, ...page.items] : page.items;
      fill(
        list,
        table(
          "Library items",
          ["Path", "Title", "Who may read", "Size", "Type", "Uploaded"],
          rows.map((item) => [
            h("code", {}, item.key),
            item.title,
            // Any active subscriber reads every item; a tier only labels the item (docs/api.md, "Private library").
            item.sku !== null ? `buyers of ${item.sku}, subscribers` : `subscribers (${item.tier ?? "no tier"})`,
            formatBytes(item.size),
            item.content_type,
            formatTime(item.uploaded_at),
          ]),
          "No items.",
        ),
      );
      const next = page.next_cursor;
      fill(more, next ? h("button", { type: "button", onclick: () => load(next) }, "Load more") : null);
    } catch (error) {
      fill(list, notice("error", messageOf(error)));
    }
  };

  const file = h("input", { name: "file", type: "file", required: true });
  const path = h("input", { name: "path", required: true, autocomplete: "off", placeholder: "books/the-book.pdf" });
  const title = h("input", { name: "title", maxlength: 200, autocomplete: "off" });
  const access = h(
    "select",
    { name: "access" },
    h("option", { value: "sku" }, "Buyers of a SKU, and subscribers"),
    h("option", { value: "tier" }, "Subscribers only, labelled with a tier"),
  );
  const sku = h("input", { name: "sku", autocomplete: "off", pattern: "[A-Za-z0-9_\\-]{1,64}" });
  const tier = h("select", { name: "tier" }, ...TIERS.map((t) => h("option", { value: t }, t)));
  const skuField = field("SKU", sku);
  const tierField = field("Tier", tier);
  const showAccess = () => {
    skuField.hidden = access.value !== "sku";
    tierField.hidden = access.value !== "tier";
    sku.required = access.value === "sku";
  };
  access.addEventListener("change", showAccess);
  file.addEventListener("change", () => {
    const chosen = file.files?.[0];
    if (chosen && !path.value) path.value = chosen.name;
  });

  const upload = h(
    "form",
    {
      class: "panel",
      "aria-labelledby": "upload-heading",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const chosen = file.files?.[0];
        if (!chosen) return;
        const headers: Record<string, string> = { "Content-Type": chosen.type || "application/octet-stream" };
        if (access.value === "sku") headers["X-Library-Sku"] = sku.value.trim();
        else headers["X-Library-Tier"] = tier.value;
        if (title.value.trim()) headers["X-Library-Title"] = encodeURIComponent(title.value.trim());
        try {
          const answer = await api.put<{ item: LibraryItem }>(
            `/admin/library/${encodePath(path.value.trim())}`,
            chosen,
            headers,
          );
          upload.reset();
          showAccess();
          await load();
          fill(status, notice("ok", `Uploaded ${answer.item.key} (${formatBytes(answer.item.size)}).`));
        } catch (error) {
          fill(status, notice("error", messageOf(error)));
        }
      },
    },
    h("h3", { id: "upload-heading" }, "Upload a file"),
    h(
      "div",
      { class: "grid" },
      field("File", file),
      field("Path in the library", path, "Folders with /; replaces an item at the same path."),
      field("Title (optional)", title),
      field("Who may read it", access),
      skuField,
      tierField,
    ),
    h("button", { type: "submit" }, "Upload"),
  );
  showAccess();

  const filter = h(
    "form",
    {
      class: "row",
      role: "search",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        await load();
      },
    },
    field("Path starts with", prefix),
    h("button", { type: "submit" }, "Filter"),
  );

  fill(root, upload, status, h("h3", {}, "Items"), filter, list, more);
  await load();
}
