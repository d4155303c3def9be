import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN } from "../../../test/secrets";
import { mcpStatus } from "../../../test/support/mcp";
import { toolsListInit } from "../../../test/support/mcp-request";
import {
  authorizationCode,
  authorizeQuery,
  decide,
  issuedTokens,
  openConsent,
  pkcePair,
  REDIRECT_URI,
  registerClient,
  tokenRequest,
} from "../../../test/support/oauth";
import { atClock, auditRowsOf, errorBody, relay, uniqueIp } from "../../../test/support/relay";

/** Exchanges a code for tokens (public client, PKCE). */
function exchange(clientId: string, code: string, codeVerifier: string) {
  return tokenRequest({
    grant_type: "authorization_code",
    code,
    code_verifier: codeVerifier,
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
  });
}

/** Refreshes a grant with its refresh token. */
function refresh(clientId: string, refreshToken: string) {
  return tokenRequest({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: clientId });
}

/** The ids of the grants GET /admin/oauth/grants lists. */
async function grantIds(): Promise<string[]> {
  const response = await relay("/admin/oauth/grants", { headers: adminHeaders() });
  expect(response.status).toBe(200);
  return ((await response.json()) as { grants: Array<{ id: string }> }).grants.map((grant) => grant.id);
}

/** ADMIN_TOKEN as bearer, from an IP of its own. */
function adminHeaders(): Record<string, string> {
  return { Authorization: `Bearer ${ADMIN_TOKEN}`, "CF-Connecting-IP": uniqueIp() };
}

/** The same request to another hostname of the same Worker. */
async function mcpStatusAt(origin: string, token: string): Promise<number> {
  const response = await exports.default.fetch(new Request(`${origin}/mcp`, toolsListInit(token)));
  return response.status;
}

describe("OAuth discovery", () => {
  it("publishes the protected resource metadata of /mcp (RFC 9728) at both well-known paths", async () => {
    const expected = {
      resource: "https://relay.test/mcp",
      authorization_servers: ["https://relay.test"],
      scopes_supported: ["read", "write"],
      bearer_methods_supported: ["header"],
      resource_name: "Kora (Soul Mirror Relay)",
    };
    for (const path of ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]) {
      expect(await (await relay(path)).json()).toEqual(expected);
    }
  });

  it("publishes the authorization server metadata (RFC 8414): S256 only, registration, revocation", async () => {
    const metadata = (await (await relay("/.well-known/oauth-authorization-server")).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: "https://relay.test",
      authorization_endpoint: "https://relay.test/authorize",
      token_endpoint: "https://relay.test/oauth/token",
      registration_endpoint: "https://relay.test/oauth/register",
      revocation_endpoint: "https://relay.test/oauth/token",
      protected_resources: ["https://relay.test/mcp"],
      scopes_supported: ["read", "write"],
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: true,
    });
    expect(metadata.grant_types_supported).toEqual(["authorization_code", "refresh_token"]);
  });
});

describe("OAuth: open redirects and consent phishing", () => {
  it("never redirects to a redirect URI that was not registered, and shows the error instead", async () => {
    const clientId = await registerClient();
    const { challenge } = await pkcePair();
    const query = authorizeQuery(clientId, challenge, { redirect_uri: "https://evil.test/callback" });
    const response = await relay(`/authorize?${query}`, { redirect: "manual" });
    expect(response.status).toBe(400);
    expect(response.headers.get("Location")).toBeNull();
    expect(await response.text()).toContain("Kora could not authorize this app");
  });

  it("shows an error page, never a 500, for a client id too long to be one (OAUTH_KV keys are 512 bytes at most)", async () => {
    const { challenge } = await pkcePair();
    const query = authorizeQuery("a".repeat(65_536), challenge);
    const response = await relay(`/authorize?${query}`, { redirect: "manual" });
    expect(response.status).toBe(400);
    expect(response.headers.get("Location")).toBeNull();
    expect(await response.text()).toContain("This app is not registered with this relay.");
  });

  it("refuses a registration whose redirect URI is plain http on a public host or a script", async () => {
    for (const uri of ["http://evil.test/callback", "javascript:alert(1)"]) {
      const response = await relay("/oauth/register", {
        method: "POST",
        headers: { "Content-Type": "application/json", "CF-Connecting-IP": uniqueIp() },
        body: JSON.stringify({ client_name: "x", redirect_uris: [uri], token_endpoint_auth_method: "none" }),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: "invalid_client_metadata" });
    }
  });

  it("requires PKCE with S256, even from a confidential client", async () => {
    const clientId = await registerClient();
    const variants: Array<Record<string, string>> = [{ code_challenge: "" }, { code_challenge_method: "plain" }];
    for (const extra of variants) {
      const query = new URLSearchParams(authorizeQuery(clientId, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", extra));
      if (extra.code_challenge === "") query.delete("code_challenge");
      const response = await relay(`/authorize?${query}`, { redirect: "manual" });
      const location = new URL(response.headers.get("Location") ?? "https://none.test");
      expect([response.status, location.origin, location.searchParams.get("error")]).toEqual([
        302,
        "https://client.test",
        "invalid_request",
      ]);
    }
  });

  it("names the client and escapes everything it registered", async () => {
    const clientId = await registerClient([REDIRECT_URI], `<img src=x onerror=alert(1)>"Evil"`);
    const form = await openConsent(authorizeQuery(clientId, (await pkcePair()).challenge));
    expect(form.page).toContain("Allow &#60;img src=x onerror=alert(1)&#62;&#34;Evil&#34; to use Kora on this relay?");
    expect(form.page).toContain("its access goes to <strong>client.test</strong>");
    expect(form.page).toContain("It registered itself: its name is not verified.");
    expect(form.page).not.toContain("<img");
  });
});

describe("OAuth: the owner's decision", () => {
  it("refuses a wrong ADMIN_TOKEN with 401, echoes nothing typed, and keeps the form usable", async () => {
    const clientId = await registerClient();
    const form = await openConsent(authorizeQuery(clientId, (await pkcePair()).challenge));
    const wrong = await decide(form, { admin_token: "guess-123-secret" });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("Location")).toBeNull();
    expect(await wrong.text()).not.toContain("guess-123-secret");
    const right = await decide(form);
    expect(right.status).toBe(302);
    expect(right.headers.get("Location")).toMatch(/^https:\/\/client\.test\/callback\?code=/);
  });

  it("refuses a decision without the page's cookie or with another page's (CSRF), and a handle used twice", async () => {
    const clientId = await registerClient();
    const { challenge } = await pkcePair();
    const form = await openConsent(authorizeQuery(clientId, challenge));
    const other = await openConsent(authorizeQuery(clientId, challenge));
    for (const forged of [
      { ...form, cookie: "" },
      { ...form, cookie: other.cookie },
    ]) {
      const response = await decide(forged);
      expect(response.status).toBe(400);
      expect(response.headers.get("Location")).toBeNull();
    }
    expect((await decide(form)).status).toBe(302);
    const again = await decide(form);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain("expired or was already used");
  });

  it("takes the form from the consent page as a browser posts it, with an ORIGIN_ALLOWLIST of other origins", async () => {
    const clientId = await registerClient();
    const form = await openConsent(authorizeQuery(clientId, (await pkcePair()).challenge));
    // Without `no-referrer` the browser names this relay as the form's Origin (Fetch, "serialize a request origin").
    expect(form.response.headers.get("Referrer-Policy")).toBe("same-origin");
    const response = await decide(
      form,
      {},
      {
        headers: { Origin: "https://relay.test", "Sec-Fetch-Site": "same-origin" },
        vars: { ORIGIN_ALLOWLIST: "https://app.example" },
      },
    );
    expect(response.status, await response.clone().text()).toBe(302);
    expect(response.headers.get("Location")).toMatch(/^https:\/\/client\.test\/callback\?code=/);
  });

  // Fetch Metadata (W3C "Fetch Metadata Request Headers" §5.1) and the Origin header (RFC 6454 §7): a form post
  // from any other page is refused before its handle is read, so the owner's page still works afterwards.
  it("refuses the form posted from another site, a sibling site or an opaque origin, and keeps the page usable", async () => {
    const clientId = await registerClient();
    const form = await openConsent(authorizeQuery(clientId, (await pkcePair()).challenge));
    const forgeries: Array<{ headers: Record<string, string>; vars?: Record<string, string> }> = [
      { headers: { "Sec-Fetch-Site": "cross-site", Origin: "https://evil.test" } },
      // An origin the allowlist names for CORS is still another site: the allowlist does not open the consent form.
      {
        headers: { "Sec-Fetch-Site": "cross-site", Origin: "https://app.example" },
        vars: { ORIGIN_ALLOWLIST: "https://app.example" },
      },
      { headers: { "Sec-Fetch-Site": "same-site", Origin: "https://app.relay.test" } },
      { headers: { Origin: "null" } },
      { headers: { "Sec-Fetch-Site": "none" } },
      { headers: { Origin: "https://evil.test" } },
    ];
    for (const forged of forgeries) {
      const response = await decide(form, {}, forged);
      expect(response.status, JSON.stringify(forged)).toBe(403);
      expect(response.headers.get("Location")).toBeNull();
      expect(await response.text()).toContain("This form was not sent from this relay&#39;s consent page.");
    }
    const right = await decide(
      form,
      {},
      { headers: { Origin: "https://relay.test", "Sec-Fetch-Site": "same-origin" } },
    );
    expect(right.status).toBe(302);
  });

  it("sends the client access_denied when the owner declines, without asking for the token", async () => {
    const clientId = await registerClient();
    const form = await openConsent(authorizeQuery(clientId, (await pkcePair()).challenge, { state: "s-1" }));
    const response = await decide(form, { decision: "deny", admin_token: "" });
    const location = new URL(response.headers.get("Location") ?? "");
    expect([response.status, location.searchParams.get("error"), location.searchParams.get("state")]).toEqual([
      302,
      "access_denied",
      "s-1",
    ]);
    expect(location.searchParams.get("iss")).toBe("https://relay.test");
  });
});

describe("OAuth: tokens", () => {
  it("issues a short-lived bearer token with the scope the owner chose, and a refresh token", async () => {
    const { json } = await issuedTokens("read");
    expect(json).toMatchObject({ token_type: "bearer", expires_in: 3600, scope: "read" });
    expect(json.refresh_token).toEqual(expect.any(String));
    expect(await mcpStatus(json.access_token as string)).toBe(200);
  });

  // RFC 7636 §4.6 and OAuth 2.1 §4.1.3: a code that fails its exchange may have been stolen; it is dead at once.
  it("kills a code at its first failed exchange: a wrong PKCE verifier, then the right one, both refused", async () => {
    const { clientId, verifier, code } = await authorizationCode();
    const wrong = await exchange(clientId, code, (await pkcePair()).verifier);
    expect([wrong.response.status, wrong.json]).toEqual([
      400,
      { error: "invalid_grant", error_description: "Invalid PKCE code_verifier" },
    ]);
    expect(wrong.response.headers.get("X-Relay-Failed-Code-Exchange")).toBeNull();
    const right = await exchange(clientId, code, verifier);
    expect([right.response.status, right.json.error]).toEqual([400, "invalid_grant"]);
    expect(await grantIds()).not.toContain(code.split(":")[1]);
  });

  it("kills a code presented by another client", async () => {
    const { verifier, code } = await authorizationCode();
    const thief = await registerClient();
    const stolen = await exchange(thief, code, verifier);
    expect([stolen.response.status, stolen.json.error]).toEqual([400, "invalid_grant"]);
    expect(await grantIds()).not.toContain(code.split(":")[1]);
  });

  it("does not let a made-up code that names a real grant kill it: the real code still works", async () => {
    const { clientId, verifier, code } = await authorizationCode();
    const [owner, grant] = code.split(":");
    const forged = await exchange(clientId, `${owner}:${grant}:not-the-secret`, (await pkcePair()).verifier);
    expect([forged.response.status, forged.json.error]).toEqual([400, "invalid_grant"]);
    const real = await exchange(clientId, code, verifier);
    expect(real.response.status).toBe(200);
  });

  it("refuses a code used twice, which also revokes what the code gave", async () => {
    const { clientId, verifier, code } = await authorizationCode();
    const first = await exchange(clientId, code, verifier);
    expect(first.response.status).toBe(200);
    expect(await mcpStatus(first.json.access_token as string)).toBe(200);
    const reused = await exchange(clientId, code, verifier);
    expect([reused.response.status, reused.json.error]).toEqual([400, "invalid_grant"]);
    // A replayed code means it leaked: the grant it made is revoked (OAuth 2.1 §4.1.3), its tokens with it.
    expect(await mcpStatus(first.json.access_token as string)).toBe(401);
  });

  it("refuses a token once it has expired", async () => {
    const { accessToken } = await issuedTokens();
    expect(await mcpStatus(accessToken)).toBe(200);
    const later = new Date(Date.now() + 3601 * 1000).toISOString();
    expect(await atClock(later, () => mcpStatus(accessToken))).toBe(401);
  });

  it("refuses a token at another resource: another hostname of the same Worker, or a resource it was not issued for", async () => {
    const { accessToken } = await issuedTokens();
    expect(await mcpStatusAt("https://other.relay.test", accessToken)).toBe(401);
    const { clientId, verifier, code } = await authorizationCode();
    const { response, json } = await tokenRequest({
      grant_type: "authorization_code",
      code,
      code_verifier: verifier,
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      resource: "https://evil.test/mcp",
    });
    expect([response.status, json.error]).toEqual([400, "invalid_target"]);
  });

  it("rotates refresh tokens: the new pair works, the old refresh token is refused once the new one is used", async () => {
    const { clientId, refreshToken } = await issuedTokens();
    const second = await refresh(clientId, refreshToken);
    expect(second.response.status).toBe(200);
    expect(await mcpStatus(second.json.access_token as string)).toBe(200);
    const third = await refresh(clientId, second.json.refresh_token as string);
    expect(third.response.status).toBe(200);
    const replayed = await refresh(clientId, refreshToken);
    expect([replayed.response.status, replayed.json.error]).toEqual([400, "invalid_grant"]);
  });

  it("never widens a grant: a refresh asking for write on a read grant gets read at most", async () => {
    const { clientId, refreshToken } = await issuedTokens("read");
    const { response, json } = await tokenRequest({
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      client_id: clientId,
      scope: "read write",
    });
    expect([response.status, json.scope]).toEqual([200, "read"]);
  });

  // RFC 7009 §2.1: revoking a refresh token may end the grant, revoking an access token need not.
  it("revokes an access token (RFC 7009): /mcp refuses it at once, and its refresh token still works", async () => {
    const { clientId, accessToken, refreshToken } = await issuedTokens();
    const { response } = await tokenRequest({ token: accessToken, client_id: clientId });
    expect(response.status).toBe(200);
    expect(await mcpStatus(accessToken)).toBe(401);
    const refreshed = await refresh(clientId, refreshToken);
    expect(refreshed.response.status).toBe(200);
    expect(await mcpStatus(refreshed.json.access_token as string)).toBe(200);
  });

  it("revokes a refresh token (RFC 7009): the whole grant ends, its access token with it", async () => {
    const { clientId, accessToken, refreshToken } = await issuedTokens();
    const { response } = await tokenRequest({
      token: refreshToken,
      token_type_hint: "refresh_token",
      client_id: clientId,
    });
    expect(response.status).toBe(200);
    expect(await mcpStatus(accessToken)).toBe(401);
    const refreshed = await refresh(clientId, refreshToken);
    expect([refreshed.response.status, refreshed.json.error]).toEqual([400, "invalid_grant"]);
  });

  it("stores tokens and codes only as hashes", async () => {
    const { accessToken, refreshToken } = await issuedTokens();
    const secretParts = [accessToken, refreshToken].map((token) => token.split(":")[2] ?? "");
    const { keys } = await env.OAUTH_KV.list();
    const stored = await Promise.all(keys.map(async ({ name }) => `${name} ${await env.OAUTH_KV.get(name)}`));
    for (const part of secretParts) {
      expect(part.length).toBeGreaterThan(20);
      expect(stored.filter((entry) => entry.includes(part))).toEqual([]);
    }
  });
});

describe("GET /admin/oauth/grants and POST /admin/oauth/grants/{id}/revoke", () => {
  it("lists each grant with its client, scopes and time, newest first", async () => {
    const clientId = await registerClient([REDIRECT_URI], "Grants list client");
    const { challenge } = await pkcePair();
    const form = await openConsent(authorizeQuery(clientId, challenge));
    const approved = await decide(form, { access: "read" });
    const code = new URL(approved.headers.get("Location") ?? "").searchParams.get("code") ?? "";
    const response = await relay("/admin/oauth/grants", { headers: adminHeaders() });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { success: boolean; grants: Array<Record<string, unknown>> };
    expect(body.success).toBe(true);
    const mine = body.grants.filter((grant) => grant.client_id === clientId);
    expect(mine).toEqual([
      {
        id: code.split(":")[1],
        client_id: clientId,
        client_name: "Grants list client",
        scopes: ["read"],
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/),
      },
    ]);
    const times = body.grants.map((grant) => grant.created_at as string);
    expect(times).toEqual([...times].sort().reverse());
  });

  it("revokes a grant: its access and refresh tokens stop working, it leaves the list, and it is audited", async () => {
    const { clientId, accessToken, refreshToken, json } = await issuedTokens("write");
    const id = accessToken.split(":")[1] ?? "";
    expect(await mcpStatus(accessToken)).toBe(200);
    const response = await relay(`/admin/oauth/grants/${id}/revoke`, { method: "POST", headers: adminHeaders() });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      success: true,
      grant: {
        id,
        client_id: clientId,
        client_name: "Test client",
        scopes: ["read", "write"],
        created_at: expect.any(String),
      },
    });
    expect(json.scope).toBe("read write");
    expect(await mcpStatus(accessToken)).toBe(401);
    const refreshed = await refresh(clientId, refreshToken);
    expect([refreshed.response.status, refreshed.json.error]).toEqual([400, "invalid_grant"]);
    expect(await grantIds()).not.toContain(id);
    expect(await auditRowsOf(response)).toEqual([
      { actor: "admin", action: "oauth_revoke", target: `oauth_client:${clientId}`, outcome: "ok", dry_run: 0 },
    ]);
  });

  it("answers 404 for a grant that does not exist (or was revoked) and 400 for what cannot be a grant id", async () => {
    const missing = await relay("/admin/oauth/grants/AAAAAAAAAAAAAAAA/revoke", {
      method: "POST",
      headers: adminHeaders(),
    });
    expect([missing.status, await missing.json()]).toEqual([
      404,
      errorBody("grant_not_found", "No OAuth grant AAAAAAAAAAAAAAAA"),
    ]);
    const malformed = await relay("/admin/oauth/grants/not%20an%20id/revoke", {
      method: "POST",
      headers: adminHeaders(),
    });
    expect([malformed.status, await malformed.json()]).toEqual([
      400,
      errorBody("invalid_request", "id: is not a grant id"),
    ]);
  });
});
