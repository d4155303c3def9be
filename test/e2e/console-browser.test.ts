import { createHash, randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import OpenAI, { APIError } from "openai";
import { type Browser, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildWebhookRequest } from "../../scripts/webhook.mjs";
import { parseWebhookCommand } from "../../scripts/webhook-events.mjs";
import { toolsListInit } from "../support/mcp-request";
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from "./chromium";

// The shared relay under `wrangler dev` (test/e2e/global-setup.ts): upstream the OpenAI stand-in.
const relay = inject("e2eRelay");
const { ADMIN_TOKEN } = relay.secrets;

/** Where the run leaves a screenshot of every page at both widths (git-ignored; docs/ keeps the overview's). */
const SCREENSHOTS = resolve(import.meta.dirname, "screenshots");
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** Polls `check` until it passes (usage reaches D1 a second or two after the requests, longer on a busy machine). */
async function eventually(check: () => Promise<void>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((done) => setTimeout(done, 300));
    }
  }
}

/**
 * The page's full-height screenshot at desktop and at phone width, as `<name>-desktop.png` and `<name>-phone.png`,
 * after checking that at phone width nothing makes the page wider than the screen.
 */
async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: resolve(SCREENSHOTS, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  // The charts follow their container's width on the next frame.
  await page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))");
  // Nothing wider than the phone: wide tables scroll inside their own box, the page itself never sideways.
  expect(await page.evaluate("document.documentElement.scrollWidth"), `${name} at phone width`).toBe(PHONE.width);
  await page.screenshot({ path: resolve(SCREENSHOTS, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

/** Waits for the next two frames: the charts and the tables' scroll cues follow a new width then. */
function nextFrames(page: Page): Promise<unknown> {
  return page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))");
}

/**
 * The runs of neighbouring pixel columns of the first chart's canvas that hold a series' colour (a saturated
 * pixel: the grid, the axes and their labels are grey), and the canvas's width.
 */
async function colouredColumns(page: Page): Promise<{ width: number; runs: Array<{ from: number; to: number }> }> {
  // Run in the page (which has the DOM types this file's type check has not).
  return page.evaluate(`(() => {
    const canvas = document.querySelector(".chart canvas");
    const { width, height } = canvas;
    const pixels = canvas.getContext("2d").getImageData(0, 0, width, height).data;
    const runs = [];
    for (let x = 0; x < width; x++) {
      let coloured = false;
      for (let y = 0; y < height && !coloured; y++) {
        const [r, g, b, a] = pixels.subarray((y * width + x) * 4, (y * width + x) * 4 + 4);
        coloured = a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60;
      }
      const last = runs.at(-1);
      if (coloured && last?.to === x - 1) last.to = x;
      else if (coloured) runs.push({ from: x, to: x });
    }
    return { width, runs };
  })()`);
}

/** What the page shows of an element, as a reader sees it (table cells separated by tabs). */
function shown(locator: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's rendered text, not the DOM property.
  return locator.innerText();
}

/** Text of the table whose caption starts with `caption`. */
function tableText(page: Page, caption: string): Promise<string> {
  return shown(page.locator("table", { has: page.locator("caption", { hasText: caption }) }));
}

/** One admin call from Node, as curl would make it. */
async function admin(path: string, body: unknown): Promise<void> {
  const response = await fetch(`${relay.url}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.text()).toBe(200);
}

/** A PKCE verifier and its S256 challenge (RFC 7636 §4.2). */
function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/**
 * An MCP client connected with OAuth, as an owner connects one: registered, approved for read and write on the
 * consent page (posted from Node, with the page's handle and cookie), its code exchanged; answers its access token.
 */
async function connectMcpClient(name: string): Promise<string> {
  const redirectUri = "http://127.0.0.1:9/callback";
  const registered = await fetch(`${relay.url}/oauth/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ client_name: name, redirect_uris: [redirectUri], token_endpoint_auth_method: "none" }),
  });
  const { client_id: clientId } = (await registered.json()) as { client_id: string };
  const { verifier, challenge } = pkce();
  const query = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: "console",
  });
  const page = await fetch(`${relay.url}/authorize?${query}`);
  const handle = /name="handle" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  const approved = await fetch(`${relay.url}/authorize`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Cookie: (page.headers.get("Set-Cookie") ?? "").split(";")[0] ?? "",
    },
    body: new URLSearchParams({ handle, access: "write", admin_token: ADMIN_TOKEN, decision: "approve" }),
    redirect: "manual",
  });
  const code = new URL(approved.headers.get("Location") ?? "").searchParams.get("code") ?? "";
  const tokens = await fetch(`${relay.url}/oauth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      code_verifier: verifier,
      client_id: clientId,
      redirect_uri: redirectUri,
    }),
  });
  expect(tokens.status).toBe(200);
  return ((await tokens.json()) as { access_token: string }).access_token;
}

/** The status of a tools/list on /mcp with a bearer token. */
async function mcpStatus(token: string): Promise<number> {
  const response = await fetch(`${relay.url}/mcp`, toolsListInit(token));
  await response.body?.cancel();
  return response.status;
}

describe("the operator console at /admin, in Chromium, against the relay under wrangler dev", () => {
  let browser: Browser | undefined;
  let page: Page;
  /** What the page itself reported: policy violations and uncaught errors must stay empty. */
  const problems: string[] = [];
  /** Every request the page made to the relay: method, path, and the headers that matter here. */
  const sent: Array<{ method: string; path: string; authorization?: string; idempotencyKey?: string }> = [];

  beforeAll(async () => {
    requireChromium();
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    const context = await browser.newContext({ viewport: DESKTOP });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: relay.url });
    page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error" && !/status of 401/.test(message.text())) problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("request", (request) => {
      const url = new URL(request.url());
      const headers = request.headers();
      sent.push({
        method: request.method(),
        path: url.pathname + url.search,
        authorization: headers.authorization,
        idempotencyKey: headers["idempotency-key"],
      });
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("refuses a wrong token with an error, keeps nothing and shows nothing", async () => {
    await page.goto(`${relay.url}/admin`);
    await page.getByLabel("ADMIN_TOKEN").fill("not-the-admin-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(shown(page.getByRole("alert"))).resolves.toContain("The relay did not accept this token.");
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await page.locator("nav").count()).toBe(0);
    // The one call it made was refused; no other admin route was asked anything.
    const calls = sent.filter(
      (request) => request.path.startsWith("/admin/") && !request.path.startsWith("/admin/console/"),
    );
    expect(calls).toEqual([
      {
        method: "GET",
        path: "/admin/audit?limit=1",
        authorization: "Bearer not-the-admin-token",
        idempotencyKey: undefined,
      },
    ]);
    await shoot(page, "sign-in");
  });

  it("signs in, creates a key, sees its chat requests on the overview chart, and revokes it", async () => {
    // From the keyboard: the token field has the focus, Enter signs in.
    await page.getByLabel("ADMIN_TOKEN").fill("");
    await page.keyboard.type(ADMIN_TOKEN);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Overview", level: 2 }).waitFor();

    // Keys: create one with a token budget; its secret is shown once, with a copy button. After a page change
    // the focus is on the page's heading, where a keyboard or screen reader user goes on from.
    await page.getByRole("link", { name: "Keys" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Keys", level: 2 }).waitFor();
    expect(await page.evaluate("document.activeElement.textContent")).toBe("Keys");
    await page.getByLabel("Name").fill("console e2e");
    await page.getByLabel("Monthly token budget (optional)").fill("100000");
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = (await shown(page.locator("#new-secret"))).trim();
    expect(secret).toMatch(/^smr_/);
    await page.getByRole("button", { name: "Copy secret" }).click();
    await page.getByText("Copied.").waitFor();
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(secret);
    const keyId = ((await tableText(page, "Relay keys")).match(/key_[0-9a-f]{16}/) ?? [""])[0];
    expect(keyId).not.toBe("");

    // Three chat requests with the key, through the official SDK.
    const sdk = new OpenAI({ baseURL: `${relay.url}/v1`, apiKey: secret, maxRetries: 0 });
    for (let i = 0; i < 3; i++) {
      const answer = await sdk.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "Hi" }],
      });
      expect(answer.object).toBe("chat.completion");
    }

    // Besides: two requests with RELAY_SECRET and another model, a payment, and a refused trigger.
    const withSecret = new OpenAI({ baseURL: `${relay.url}/v1`, apiKey: relay.secrets.RELAY_SECRET, maxRetries: 0 });
    for (let i = 0; i < 2; i++) {
      await withSecret.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "Hi" }] });
    }
    const payment = buildWebhookRequest(
      parseWebhookCommand([
        "payment",
        "purchase.completed",
        "--user",
        "console-buyer",
        "--sku",
        "EBOOK",
        "--url",
        relay.url,
      ]),
      relay.secrets,
    );
    expect((await fetch(payment.url, { method: "POST", headers: payment.headers, body: payment.body })).status).toBe(
      200,
    );
    const trigger = await fetch(`${relay.url}/trigger-hive`, {
      method: "POST",
      headers: { Authorization: "Bearer not-the-relay-secret", "Content-Type": "application/json" },
      body: JSON.stringify({ action: "plan", dry_run: true }),
    });
    expect(trigger.status).toBe(401);

    // The overview: both charts drawn, and the key's three requests in the totals beside the chart.
    await page.getByRole("link", { name: "Overview" }).click();
    await eventually(async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      const bySubject = await tableText(page, "Totals by subject");
      expect(bySubject).toMatch(new RegExp(`key “console e2e” \\(${keyId}\\)\\s+3\\s`));
      expect(bySubject).toContain("RELAY_SECRET");
      expect(await tableText(page, "Totals by model")).toMatch(/^gpt-4o\s+\d+/m);
    });
    expect(await tableText(page, "Totals by model")).toMatch(/^gpt-4o-mini\s+\d+/m);
    expect(await tableText(page, "Refusals (4xx) and failures (5xx)")).toMatch(
      /operator\ttrigger\trefused:unauthorized\t\d+/,
    );
    expect(await tableText(page, "Payment events per day")).toMatch(/\tpayment\tgrant\tpurchase of EBOOK\t\d+/);
    expect(await page.locator(".chart canvas").count()).toBe(2);
    // Bars, not lines: every request of these 30 days was made today (yesterday too, around midnight UTC),
    // so the chart colours a day's slot or two. A line would run along the zero of all 30 days to a spike.
    const { width, runs } = await colouredColumns(page);
    const slot = width / 30;
    expect(runs.length, JSON.stringify(runs)).toBeGreaterThanOrEqual(1);
    expect(runs.length, JSON.stringify(runs)).toBeLessThanOrEqual(2);
    for (const run of runs) expect(run.to - run.from + 1).toBeLessThan(slot);
    expect(Math.max(...runs.map((run) => run.to - run.from + 1))).toBeGreaterThan(slot / 3);
    expect(runs.at(-1)?.to ?? 0).toBeGreaterThan(width - 2 * slot);
    expect(await shown(page.locator(".u-legend").first())).toContain("gpt-4o-mini");
    expect(await tableText(page, "Budgets used this month")).toMatch(/console e2e.*\s3\s.*of 100,000/s);
    await page.getByLabel("Show").selectOption("tokens");
    await expect(shown(page.locator("figcaption").first())).resolves.toBe("Tokens per day by model");
    await page.getByLabel("Show").selectOption("requests");
    await shoot(page, "overview");

    // Keys again: the spend against the budget, then revocation; the SDK is refused from then on.
    await page.getByRole("link", { name: "Keys" }).click();
    expect(await tableText(page, "Relay keys")).toMatch(/console e2e.*of 100,000.*Active/s);
    await shoot(page, "keys");

    // On a phone the keys table is wider than the screen: it says so, a shadow marks the side with more
    // columns, and the Revoke button stays on the screen at either end of the table.
    await page.setViewportSize(PHONE);
    await nextFrames(page);
    const keysTable = page.locator(".table-box", { has: page.locator("caption", { hasText: "Relay keys" }) });
    await expect(keysTable.getByText("Wider than the screen: scroll the table sideways").isVisible()).resolves.toBe(
      true,
    );
    const revokeButton = page.getByRole("button", { name: "Revoke key console e2e" });
    const onScreen = async () => {
      const box = await revokeButton.boundingBox();
      return box !== null && box.x >= 0 && box.x + box.width <= PHONE.width;
    };
    expect(await onScreen()).toBe(true);
    const frame = keysTable.locator(".table-frame");
    expect(await frame.getAttribute("data-more-right")).toBe("");
    expect(await frame.getAttribute("data-more-left")).toBeNull();
    await keysTable.locator(".table-wrap").evaluate((wrap) => wrap.scrollTo({ left: wrap.scrollWidth }));
    await nextFrames(page);
    expect(await frame.getAttribute("data-more-left")).toBe("");
    expect(await frame.getAttribute("data-more-right")).toBeNull();
    expect(await onScreen()).toBe(true);
    await page.setViewportSize(DESKTOP);

    page.once("dialog", (dialog) => dialog.accept());
    await page.getByRole("button", { name: "Revoke key console e2e" }).click();
    await page.getByText("Key “console e2e” revoked.").waitFor();
    expect(await tableText(page, "Relay keys")).toMatch(/console e2e.*Revoked/s);
    const refused = await sdk.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hi" }] })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(APIError);
    expect((refused as APIError).status).toBe(401);

    // The overview still shows what the revoked key spent this month: greyed, and saying "revoked" in words.
    await page.getByRole("link", { name: "Overview" }).click();
    const revokedRow = new RegExp(
      `console e2e \\(${keyId}\\), revoked \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\s+3\\s.*of 100,000`,
      "s",
    );
    expect(await tableText(page, "Budgets used this month")).toMatch(revokedRow);
    const revokedCell = `[...document.querySelectorAll("tr.revoked td")].find((td) => td.textContent.includes("${keyId}"))`;
    expect(await page.evaluate(`getComputedStyle(${revokedCell}).color`)).toBe("rgb(85, 85, 85)");
    await shoot(page, "overview-revoked");
  });

  it("grants and revokes an entitlement with a reason, each with an Idempotency-Key", async () => {
    const user = `console-user-${Date.now().toString(36)}`;
    await page.getByRole("link", { name: "Subscribers" }).click();
    await page.getByLabel("User id").fill(user);
    await page.getByRole("button", { name: "Look up" }).click();
    await page.getByText("No access.").waitFor();

    await page.getByLabel("Type").selectOption("purchase");
    await page.getByLabel("SKU").fill("EBOOK");
    await page.getByLabel("Reason (optional)").fill("support ticket 7");
    await page.getByRole("button", { name: "Grant", exact: true }).click();
    await page.getByText(`Granted to ${user}.`).waitFor();
    expect(await page.getByText("Has access.").count()).toBe(1);
    expect(await tableText(page, "History")).toMatch(/grant\s+purchase of EBOOK.*support ticket 7/s);
    await shoot(page, "subscribers");

    // The reason form opens with the focus in its field; Enter sends it.
    await page.getByRole("button", { name: "Revoke purchase of EBOOK" }).click();
    await page.keyboard.type("refunded by hand");
    expect(await page.getByLabel("Reason", { exact: true }).inputValue()).toBe("refunded by hand");
    await page.keyboard.press("Enter");
    await page.getByText(`Revoked purchase of EBOOK of ${user}.`).waitFor();
    expect(await page.getByText("No access.").count()).toBe(1);
    expect(await tableText(page, "History")).toMatch(/revoke\s+purchase of EBOOK.*refunded by hand/s);

    const changes = sent.filter((request) => request.method === "POST" && request.path.startsWith("/entitlements/"));
    expect(changes.map((request) => request.path)).toEqual(["/entitlements/grant", "/entitlements/revoke"]);
    for (const change of changes) expect(change.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(changes[0]?.idempotencyKey).not.toBe(changes[1]?.idempotencyKey);
  });

  it("uploads a file with its metadata and lists it with its SKU", async () => {
    const path = `console-e2e/${Date.now().toString(36)}/notes.txt`;
    await page.getByRole("link", { name: "Library" }).click();
    await page
      .getByLabel("File", { exact: true })
      .setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("notes") });
    await page.getByLabel("Path in the library").fill(path);
    await page.getByLabel("Title (optional)").fill("Console notes");
    await page.getByLabel("SKU").fill("EBOOK");
    await page.getByRole("button", { name: "Upload" }).click();
    await page.getByText(`Uploaded ${path} (5 B).`).waitFor();
    expect(await tableText(page, "Library items")).toContain(
      `${path}\tConsole notes\tbuyers of EBOOK, subscribers\t5 B\ttext/plain`,
    );
    await shoot(page, "library");
  });

  it("pages the audit log newest first, filtered by actor and action", async () => {
    // Twelve grants by the admin, so that the filtered log has more than one page of ten.
    const user = `console-audit-${Date.now().toString(36)}`;
    for (let i = 0; i < 12; i++)
      await admin("/entitlements/grant", { user_id: user, type: "purchase", sku: `SKU-${i}` });
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.getByLabel("Actor").fill("admin");
    await page.getByLabel("Action").fill("grant");
    await page.getByLabel("Rows per page").selectOption("10");
    await page.getByRole("button", { name: "Show" }).click();
    const first = await tableText(page, "Audit log, page 1, actor admin, action grant");
    expect(first.match(/\tadmin\tgrant\t/g)).toHaveLength(10);
    expect(first).toContain(`user:${user}`);
    await shoot(page, "audit");
    await page.getByRole("button", { name: "Older →" }).click();
    const second = await tableText(page, "Audit log, page 2, actor admin, action grant");
    expect(second).toMatch(/\tadmin\tgrant\t/);
    expect(second).not.toBe(first);
    await page.getByRole("button", { name: "← Newer" }).click();
    expect(await tableText(page, "Audit log, page 1, actor admin, action grant")).toBe(first);
  });

  it("lists the MCP clients connected with OAuth and revokes one: its token stops working", async () => {
    const name = `Console MCP client ${Date.now().toString(36)}`;
    const token = await connectMcpClient(name);
    expect(await mcpStatus(token)).toBe(200);
    await page.getByRole("link", { name: "MCP clients" }).click();
    const caption = "MCP clients connected with OAuth";
    await page.locator("caption", { hasText: caption }).waitFor();
    expect(await tableText(page, caption)).toMatch(new RegExp(`${name}\t\\S+\tread and write\t`));
    await shoot(page, "mcp-clients");
    page.once("dialog", (dialog) => dialog.accept());
    await page.getByRole("button", { name: `Revoke ${name}` }).click();
    await page.getByText(`“${name}” revoked.`).waitFor();
    expect(await tableText(page, caption)).not.toContain(name);
    expect(await mcpStatus(token)).toBe(401);
    const revoked = sent.filter((request) => request.method === "POST" && request.path.startsWith("/admin/oauth/"));
    expect(revoked.map((request) => request.path)).toEqual([
      expect.stringMatching(/^\/admin\/oauth\/grants\/[\w-]+\/revoke$/),
    ]);
  });

  it("signs out when the stored token stops working, and broke no policy on the way", async () => {
    await page.evaluate(() => sessionStorage.setItem("relay-admin-token", "a-rotated-token"));
    await page.reload();
    await expect(shown(page.getByRole("alert"))).resolves.toContain("The relay refused the token: signed out.");
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    // Every call the console made carried the token as a bearer header (never in a URL), and nothing broke the CSP.
    for (const request of sent.filter((r) => r.path.startsWith("/admin/") && !r.path.startsWith("/admin/console/"))) {
      expect(request.authorization).toMatch(/^Bearer /);
      expect(request.path).not.toContain(ADMIN_TOKEN);
    }
    expect(problems).toEqual([]);
  });
});
