import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type OAuthClientProvider, UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { listenOnLoopback } from "../stand-ins/http";
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from "./chromium";

// The shared relay (test/e2e/global-setup.ts), on `localhost` rather than 127.0.0.1: Chromium keeps the consent
// page's `__Host-` cookie (Secure) on http only for localhost, as it would over https in production.
const relay = inject("e2eRelay");
const base = relay.url.replace("127.0.0.1", "localhost");

/** A loopback redirect URI, as a desktop MCP client registers it: it hands over the code and the state. */
async function startCallback() {
  let resolve: (query: URLSearchParams) => void = () => undefined;
  const arrived = new Promise<URLSearchParams>((done) => {
    resolve = done;
  });
  const server = createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end("You can close this window.");
    resolve(new URL(req.url ?? "/", "http://callback").searchParams);
  });
  const listening = await listenOnLoopback(server);
  return { url: `${listening.url}/callback`, arrived, close: listening.close };
}

/** An MCP client's OAuth state, in memory; the authorization URL goes to the browser instead of a person. */
class TestProvider implements OAuthClientProvider {
  client?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  verifier = "";
  authorizationUrl?: URL;
  constructor(readonly redirectUrl: string) {}
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "E2E MCP client",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(client: OAuthClientInformationMixed) {
    this.client = client;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/** An MCP client session on the relay with a bearer token (after the OAuth dance). */
async function sessionWith(token: string) {
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: "e2e", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

async function tokenEndpoint(fields: Record<string, string>) {
  const response = await fetch(`${base}/oauth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
  const text = await response.text();
  return { status: response.status, json: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown> };
}

describe("OAuth for /mcp, end to end: an MCP client, the relay under wrangler dev, and the owner in Chromium", () => {
  let context: BrowserContext | undefined;
  let profile = "";

  beforeAll(async () => {
    requireChromium();
    profile = mkdtempSync(join(tmpdir(), "relay-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      timeout: 30_000,
    });
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("discovers, registers, authorizes with PKCE in the browser, calls a tool, refreshes and revokes", async () => {
    if (!context) throw new Error("no browser");
    const callback = await startCallback();
    try {
      // 1. Discovery from the 401, dynamic registration and the authorization URL: the SDK's own auth flow.
      const provider = new TestProvider(callback.url);
      const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { authProvider: provider });
      const client = new Client({ name: "e2e", version: "1.0.0" });
      await expect(client.connect(transport)).rejects.toBeInstanceOf(UnauthorizedError);
      const authorizationUrl = provider.authorizationUrl;
      if (!authorizationUrl) throw new Error("the client was not sent to the authorization endpoint");
      expect(authorizationUrl.origin).toBe(base);
      expect(authorizationUrl.searchParams.get("code_challenge_method")).toBe("S256");
      expect(authorizationUrl.searchParams.get("resource")).toBe(`${base}/mcp`);

      // 2. The consent page: the owner reads who asks, chooses read and write, and approves with ADMIN_TOKEN.
      const page = await context.newPage();
      const violations: string[] = [];
      page.on("console", (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });
      await page.goto(authorizationUrl.toString());
      await expect(page.title()).resolves.toBe("Allow E2E MCP client?");
      expect(await page.textContent("h1")).toBe("Allow E2E MCP client to use Kora on this relay?");
      expect(await page.textContent("main")).toContain("Access goes to an app on this computer");
      await page.check('input[name="access"][value="write"]');
      await page.fill("#admin_token", relay.secrets.ADMIN_TOKEN);
      const posted = page.waitForRequest((request) => request.method() === "POST");
      const [query] = await Promise.all([callback.arrived, page.click('button[value="approve"]')]);
      expect(violations).toEqual([]);
      // The relay runs with ORIGIN_ALLOWLIST set to another origin; the browser named the relay itself.
      expect(relay.secrets.ORIGIN_ALLOWLIST).not.toContain(base);
      const headers = await (await posted).allHeaders();
      expect([headers.origin, headers["sec-fetch-site"]]).toEqual([base, "same-origin"]);
      expect(query.get("state")).toBe(authorizationUrl.searchParams.get("state"));
      expect(query.get("iss")).toBe(base);
      const code = query.get("code") ?? "";

      // 3. The code for tokens (the SDK sends the PKCE verifier), then a tool call with the access token.
      await transport.finishAuth(code);
      const tokens = provider.saved;
      if (!tokens?.refresh_token) throw new Error("no refresh token");
      expect(tokens).toMatchObject({ token_type: "bearer", expires_in: 3600, scope: "read write" });
      const session = await sessionWith(tokens.access_token);
      const search = (await session.callTool({ name: "search", arguments: { query: "fix" } })) as CallToolResult;
      expect(search.content).toEqual([
        {
          type: "text",
          text: JSON.stringify({
            results: [
              { id: "octo/hivemind#1", title: "Pull request 1", url: "https://github.com/octo/hivemind/pull/1" },
              { id: "octo/hivemind#2", title: "Pull request 2", url: "https://github.com/octo/hivemind/pull/2" },
            ],
          }),
        },
      ]);

      // 4. Refresh: a new pair; the new access token works.
      const clientId = provider.client?.client_id ?? "";
      const refreshed = await tokenEndpoint({
        grant_type: "refresh_token",
        refresh_token: tokens.refresh_token,
        client_id: clientId,
      });
      expect(refreshed.status, JSON.stringify(refreshed.json)).toBe(200);
      const access = refreshed.json.access_token as string;
      expect(access).not.toBe(tokens.access_token);
      const again = await sessionWith(access);
      expect((await again.listTools()).tools).toHaveLength(7);

      // 5. Revoke (RFC 7009): the token is refused from then on.
      expect((await tokenEndpoint({ token: access, client_id: clientId })).status).toBe(200);
      await expect(sessionWith(access)).rejects.toThrow(/"code":"unauthorized"/);

      // 6. The code worked once: used again it is refused, and the grant it made is gone (its refresh token too).
      const reused = await tokenEndpoint({
        grant_type: "authorization_code",
        code,
        code_verifier: provider.verifier,
        client_id: clientId,
        redirect_uri: callback.url,
      });
      expect([reused.status, reused.json.error]).toEqual([400, "invalid_grant"]);
      const afterReuse = await tokenEndpoint({
        grant_type: "refresh_token",
        refresh_token: refreshed.json.refresh_token as string,
        client_id: clientId,
      });
      expect([afterReuse.status, afterReuse.json.error]).toEqual([400, "invalid_grant"]);
    } finally {
      await callback.close();
    }
  });

  it("refuses the consent form posted from another site, even the web app ORIGIN_ALLOWLIST names", async () => {
    if (!context) throw new Error("no browser");
    const callback = await startCallback();
    try {
      const registered = await fetch(`${base}/oauth/register`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          client_name: "Forged",
          redirect_uris: [callback.url],
          token_endpoint_auth_method: "none",
        }),
      });
      const { client_id: clientId } = (await registered.json()) as { client_id: string };
      const query = new URLSearchParams({
        response_type: "code",
        client_id: clientId,
        redirect_uri: callback.url,
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method: "S256",
        state: "forged",
        scope: "read write",
      });
      // The owner has the consent page open; a page of the web app (the allowlisted origin) posts its form.
      const consent = await context.newPage();
      await consent.goto(`${base}/authorize?${query}`);
      const handle = (await consent.getAttribute('input[name="handle"]', "value")) ?? "";
      const webapp = relay.secrets.ORIGIN_ALLOWLIST;
      await context.route(`${webapp}/**`, (route) =>
        route.fulfill({
          contentType: "text/html",
          body: `<!doctype html><form method="post" action="${base}/authorize">
<input name="handle" value="${handle}"><input name="access" value="write">
<input name="admin_token" value="${relay.secrets.ADMIN_TOKEN}"><button name="decision" value="approve">Go</button></form>`,
        }),
      );
      const forger = await context.newPage();
      await forger.goto(`${webapp}/`);
      // Intercepted requests show Playwright's headers, not the browser's: the post goes out unintercepted.
      await context.unroute(`${webapp}/**`);
      const posted = forger.waitForRequest((request) => request.method() === "POST");
      const [answer] = await Promise.all([forger.waitForNavigation(), forger.click('button[value="approve"]')]);
      const headers = await (await posted).allHeaders();
      expect([headers.origin, headers["sec-fetch-site"]]).toEqual([webapp, "cross-site"]);
      expect(answer?.status()).toBe(403);
      expect(await forger.textContent("main")).toContain("This form was not sent from this relay's consent page.");

      // Nothing reached the client, and the owner's own page still works: the forgery did not use it up.
      await consent.fill("#admin_token", relay.secrets.ADMIN_TOKEN);
      const [arrived] = await Promise.all([callback.arrived, consent.click('button[value="approve"]')]);
      expect(arrived.get("state")).toBe("forged");
      expect(arrived.get("code")).toEqual(expect.any(String));
    } finally {
      await callback.close();
    }
  });

  it("keeps the owner on the relay's own page for a redirect URI that was not registered", async () => {
    if (!context) throw new Error("no browser");
    const registered = await fetch(`${base}/oauth/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        client_name: "Phisher",
        redirect_uris: ["http://127.0.0.1:9/callback"],
        token_endpoint_auth_method: "none",
      }),
    });
    const { client_id: clientId } = (await registered.json()) as { client_id: string };
    const page = await context.newPage();
    const query = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: "https://evil.test/steal",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
      state: "s",
    });
    const response = await page.goto(`${base}/authorize?${query}`);
    expect(response?.status()).toBe(400);
    expect(new URL(page.url()).origin).toBe(base);
    expect(await page.textContent("h1")).toBe("Kora could not authorize this app");
  });
});
