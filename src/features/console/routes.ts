import { type Context, Hono } from "hono";
import type { AppEnv } from "../../env";
import { NotFound } from "../../errors";
import { mount, type RouteSpec } from "../../middleware/guard";

/**
 * The operator console: a static page and its script and stylesheet (console/, built into the Worker's static
 * assets). They hold no data and need no credential; everything the page shows comes from the admin API,
 * called with the ADMIN_TOKEN the operator types in. Served through the Worker, never straight from the asset
 * store (`run_worker_first`), so that they get the relay's headers and this strict policy.
 */
export const consoleRoutes = {
  console: { method: "GET", path: "/admin", auth: "none", rateLimit: null, body: null },
  consoleFile: { method: "GET", path: "/admin/console/*", auth: "none", rateLimit: null, body: null },
} as const satisfies Record<string, RouteSpec>;

/**
 * Scripts and styles from this origin only, no inline script or style, no plugin, no framing, no form that
 * posts anywhere, and no string ever turned into HTML (Trusted Types: the console builds its DOM from nodes).
 */
export const CONSOLE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

const CONSOLE_HEADERS = {
  "Content-Security-Policy": CONSOLE_POLICY,
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  // Public, unchanging between deploys: the browser may keep them, and asks again (ETag) before each use.
  "Cache-Control": "no-cache",
};

/** The asset headers worth passing on: what the file is, and its validator. */
const KEPT_HEADERS = ["Content-Type", "Content-Length", "ETag"];

export const consoleApp = new Hono<AppEnv>();

/** One file of the built console, answered with the console's headers; 404 when there is no such file. */
async function serveFile(c: Context<AppEnv>, file: string): Promise<Response> {
  const conditional = c.req.header("If-None-Match");
  const asset = await c.env.ASSETS.fetch(
    new Request(new URL(`/${file}`, c.req.url), { headers: conditional ? { "If-None-Match": conditional } : {} }),
  );
  if (asset.status !== 200 && asset.status !== 304) {
    await asset.body?.cancel();
    throw new NotFound(`No console file ${file}`);
  }
  const headers = new Headers(CONSOLE_HEADERS);
  for (const name of KEPT_HEADERS) {
    const value = asset.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return new Response(asset.body, { status: asset.status, headers });
}

mount(consoleApp, consoleRoutes.console, (c) => serveFile(c, "index.html"));

mount(consoleApp, consoleRoutes.consoleFile, (c) => {
  const file = c.req.path.slice("/admin/console/".length);
  // The page's own files only: app.js, app.css (never index.html under a second name, never a folder).
  if (!/^app\.(?:js|css)$/.test(file)) throw new NotFound(`No console file ${file}`);
  return serveFile(c, file);
});
