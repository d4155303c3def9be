import { describe, expect, it } from "vitest";
import { TEST_SECRETS } from "../../../test/secrets";
import { errorBody, relay, uniqueIp } from "../../../test/support/relay";
import { CONSOLE_POLICY } from "./routes";

function get(path: string, headers: Record<string, string> = {}) {
  return relay(path, { headers: { "CF-Connecting-IP": uniqueIp(), ...headers } });
}

/** The headers every console file is served with (MDN, CSP `frame-ancestors`; OWASP secure headers). */
function expectConsoleHeaders(response: Response) {
  expect(response.headers.get("Content-Security-Policy")).toBe(
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'none'; " +
      "frame-ancestors 'none'; base-uri 'none'; require-trusted-types-for 'script'; trusted-types 'none'",
  );
  expect(response.headers.get("X-Frame-Options")).toBe("DENY");
  expect(response.headers.get("Referrer-Policy")).toBe("no-referrer");
  expect(response.headers.get("Cross-Origin-Opener-Policy")).toBe("same-origin");
  expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
  expect(response.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  expect(response.headers.get("Cache-Control")).toBe("no-cache");
  expect(response.headers.get("Set-Cookie")).toBeNull();
}

describe("GET /admin", () => {
  it("serves the console page under its strict policy: no inline script or style, no framing", async () => {
    const response = await get("/admin");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    expectConsoleHeaders(response);
    expect(CONSOLE_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    const page = await response.text();
    expect(page).toContain('<script type="module" src="/admin/console/app.js"></script>');
    expect(page).toContain('<link rel="stylesheet" href="/admin/console/app.css">');
    // Every script has a src, there is no style element or attribute, and no inline event handler.
    expect(page.match(/<script\b[^>]*>/g)?.every((tag) => / src="\/admin\/console\/app\.js"/.test(tag))).toBe(true);
    expect(page).not.toMatch(/<style|\sstyle=|\son[a-z]+=|javascript:/i);
    for (const secret of TEST_SECRETS) expect(page).not.toContain(secret);
  });

  it("asks for no credential, and a page from the browser's cache is revalidated by its ETag", async () => {
    const first = await get("/admin");
    const etag = first.headers.get("ETag");
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    await first.body?.cancel();
    const again = await get("/admin", { "If-None-Match": etag ?? "" });
    expect(again.status).toBe(304);
    expectConsoleHeaders(again);
  });
});

describe("GET /admin/console/{file}", () => {
  it.each([
    ["app.js", "text/javascript; charset=utf-8"],
    ["app.css", "text/css; charset=utf-8"],
  ])("serves %s as %s with the console's headers", async (file, type) => {
    const response = await get(`/admin/console/${file}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe(type);
    expectConsoleHeaders(response);
    expect((await response.text()).length).toBeGreaterThan(1000);
  });

  it.each(["index.html", "nope.js", "app.js.map", "vendor/app.js", "%2e%2e/index.html"])(
    "answers 404 for %s, never another file of the assets",
    async (file) => {
      const response = await get(`/admin/console/${file}`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual(errorBody("not_found"));
    },
  );
});
