import "uplot/dist/uPlot.min.css";
import "./style.css";
import { AdminApi, ApiError, messageOf } from "./api";
import { field, fill, h, notice } from "./dom";
import { renderAudit } from "./pages/audit";
import { renderConnections } from "./pages/connections";
import { renderKeys } from "./pages/keys";
import { renderLibrary } from "./pages/library";
import { renderOverview } from "./pages/overview";
import { renderSubscribers } from "./pages/subscribers";

/**
 * The operator console. ADMIN_TOKEN lives in this tab only: in memory and in sessionStorage (gone when the tab
 * closes, never sent anywhere but as the bearer token of the admin API). No cookie, so no request the browser
 * makes on its own carries it (no CSRF).
 */

const TOKEN_KEY = "relay-admin-token";

type Page = {
  id: string;
  title: string;
  /** Fills `root`; may resolve to a function that tidies up when the page is left (the overview's charts). */
  render: (root: HTMLElement, api: AdminApi) => Promise<unknown>;
};

const PAGES: Page[] = [
  { id: "overview", title: "Overview", render: renderOverview },
  { id: "keys", title: "Keys", render: renderKeys },
  { id: "subscribers", title: "Subscribers", render: renderSubscribers },
  { id: "library", title: "Library", render: renderLibrary },
  { id: "connections", title: "MCP clients", render: renderConnections },
  { id: "audit", title: "Audit log", render: renderAudit },
];

const app = document.getElementById("app") as HTMLElement;
let leave: (() => void) | undefined;
/** The signed-in console's parts; undefined while signed out. */
let current: { api: AdminApi; nav: HTMLElement; heading: HTMLElement; content: HTMLElement } | undefined;

function signOut(message?: string): void {
  // The overview's five calls may all be refused at once: sign out once.
  if (!current) return;
  current = undefined;
  sessionStorage.removeItem(TOKEN_KEY);
  leave?.();
  leave = undefined;
  window.removeEventListener("hashchange", route);
  showSignIn(message);
}

function showSignIn(message?: string): void {
  document.title = "Sign in · Relay console";
  const token = h("input", {
    type: "password",
    name: "token",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
  });
  const status = h("div", { "aria-live": "polite" }, message ? notice("error", message) : null);
  const button = h("button", { type: "submit" }, "Sign in");
  current = undefined;
  const form = h(
    "form",
    {
      class: "panel sign-in",
      "aria-labelledby": "sign-in-heading",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        button.disabled = true;
        const candidate = token.value.trim();
        try {
          // One cheap admin call tells whether the relay takes this token; nothing is kept until it does.
          await new AdminApi(candidate).get("/admin/audit", { limit: 1 });
          sessionStorage.setItem(TOKEN_KEY, candidate);
          showConsole(candidate);
        } catch (error) {
          const refused = error instanceof ApiError && error.status === 401;
          fill(status, notice("error", refused ? "The relay did not accept this token." : messageOf(error)));
          token.select();
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h1", { id: "sign-in-heading" }, "Relay console"),
    h("p", {}, "Sign in with the relay's ADMIN_TOKEN. It stays in this tab and is forgotten when the tab closes."),
    field("ADMIN_TOKEN", token),
    button,
    status,
  );
  fill(app, h("main", { class: "center" }, form));
  token.focus();
}

function showConsole(token: string): void {
  const api = new AdminApi(token, () => signOut("The relay refused the token: signed out."));
  const nav = h(
    "nav",
    { "aria-label": "Console pages" },
    h("ul", {}, ...PAGES.map((page) => h("li", {}, h("a", { href: `#${page.id}`, "data-page": page.id }, page.title)))),
  );
  const heading = h("h2", { tabindex: -1 });
  const content = h("div", { class: "content" });
  const refresh = h("button", { type: "button", onclick: () => route() }, "Refresh");
  fill(
    app,
    h(
      "header",
      { class: "top" },
      h("p", { class: "brand" }, "Relay console"),
      nav,
      h("button", { type: "button", class: "quiet", onclick: () => signOut() }, "Sign out"),
    ),
    h("main", { id: "main" }, h("div", { class: "title-row" }, heading, refresh), content),
  );
  current = { api, nav, heading, content };
  window.addEventListener("hashchange", route);
  void route();
}

/** Shows the page the address names (#keys …); the overview by default. */
async function route(): Promise<void> {
  if (!current) return;
  const { api, nav, heading, content } = current;
  const page = PAGES.find((p) => `#${p.id}` === location.hash) ?? (PAGES[0] as Page);
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.page === page.id) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  leave?.();
  leave = undefined;
  document.title = `${page.title} · Relay console`;
  heading.textContent = page.title;
  heading.focus();
  // Each visit renders into a box of its own: a slow earlier visit that finishes late fills a box no longer shown.
  const box = h("div", { "aria-busy": "true" }, h("p", {}, "Loading…"));
  fill(content, box);
  let cleanup: (() => void) | undefined;
  try {
    const rendered = await page.render(box, api);
    if (typeof rendered === "function") cleanup = rendered as () => void;
  } catch (error) {
    fill(box, notice("error", messageOf(error)));
  }
  box.setAttribute("aria-busy", "false");
  if (box.isConnected) leave = cleanup;
  else cleanup?.();
}

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) showConsole(saved);
else showSignIn();
