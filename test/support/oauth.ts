import { expect, inject } from "vitest";
import { ADMIN_TOKEN } from "../secrets";
import { relay, uniqueId, uniqueIp } from "./relay";

/**
 * The OAuth flow of /mcp through the Worker's front door, step by step, for the workers suite (the browser
 * drives the same flow end to end in test/e2e/oauth-browser.test.ts).
 */

export const REDIRECT_URI = "https://client.test/callback";

/** A PKCE verifier and its S256 challenge (RFC 7636 §4.2). */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url(new Uint8Array(digest)) };
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** Registers a public client (RFC 7591), as an MCP client does; answers its client_id. */
export async function registerClient(redirectUris = [REDIRECT_URI], name = "Test client"): Promise<string> {
  const response = await relay("/oauth/register", {
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": uniqueIp() },
    body: JSON.stringify({
      client_name: name,
      redirect_uris: redirectUris,
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return ((await response.json()) as { client_id: string }).client_id;
}

/** The query of an authorization request with PKCE S256. */
export function authorizeQuery(clientId: string, challenge: string, extra: Record<string, string> = {}): string {
  return new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: uniqueId("state"),
    scope: "read write",
    resource: "https://relay.test/mcp",
    ...extra,
  }).toString();
}

/** The consent page's hidden handle and the cookie that binds it to the browser. */
export type ConsentForm = { handle: string; cookie: string; page: string; response: Response };

/** `GET /authorize`: the consent page, its form handle and its binding cookie. */
export async function openConsent(query: string): Promise<ConsentForm> {
  const response = await relay(`/authorize?${query}`, { headers: { "CF-Connecting-IP": uniqueIp() } });
  const page = await response.clone().text();
  const handle = /name="handle" value="([^"]+)"/.exec(page)?.[1] ?? "";
  const cookie = (response.headers.get("Set-Cookie") ?? "").split(";")[0] ?? "";
  return { handle, cookie, page, response };
}

/** The consent form's body, as the browser posts it. */
export function consentBody(handle: string, fields: Record<string, string> = {}): string {
  return new URLSearchParams({
    handle,
    access: "write",
    admin_token: ADMIN_TOKEN,
    decision: "approve",
    ...fields,
  }).toString();
}

/** How a decision is sent beyond its fields: the browser's headers (Origin, Sec-Fetch-Site) and the relay's vars. */
type DecideOptions = { headers?: Record<string, string>; vars?: Record<string, string> };

/** `POST /authorize` with the form's cookie. */
export async function decide(form: ConsentForm, fields: Record<string, string> = {}, options: DecideOptions = {}) {
  return relay(
    "/authorize",
    {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Cookie: form.cookie,
        "CF-Connecting-IP": uniqueIp(),
        ...options.headers,
      },
      body: consentBody(form.handle, fields),
      redirect: "manual",
    },
    options.vars,
  );
}

/** A client, a verifier and an authorization code the owner approved with `access`. */
export async function authorizationCode(access: "read" | "write" = "write") {
  const clientId = await registerClient();
  const { verifier, challenge } = await pkcePair();
  const form = await openConsent(authorizeQuery(clientId, challenge));
  const approved = await decide(form, { access });
  expect(approved.status, await approved.clone().text()).toBe(302);
  const location = new URL(approved.headers.get("Location") ?? "");
  return { clientId, verifier, code: location.searchParams.get("code") ?? "" };
}

/** POSTs a form to the token endpoint. */
export async function tokenRequest(fields: Record<string, string>, url = "/oauth/token") {
  const response = await relay(url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", "CF-Connecting-IP": uniqueIp() },
    body: new URLSearchParams(fields).toString(),
  });
  const text = await response.text();
  // A revocation answers 200 with no body (RFC 7009 §2.2).
  return { response, json: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown> };
}

/** Access and refresh tokens for a client the owner approved with `access`. */
export async function issuedTokens(access: "read" | "write" = "write") {
  const { clientId, verifier, code } = await authorizationCode(access);
  const { response, json } = await tokenRequest({
    grant_type: "authorization_code",
    code,
    code_verifier: verifier,
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
  });
  expect(response.status, JSON.stringify(json)).toBe(200);
  return { clientId, accessToken: json.access_token as string, refreshToken: json.refresh_token as string, json };
}

/**
 * Publishes a Client ID Metadata Document at `https://<host>.cimd.test/<path>` (served by the client-metadata
 * stand-in, which the Worker reaches through the test-only outbound router); answers its URL, the client_id.
 */
export async function publishClientDocument(url: string, document: Record<string, unknown> | string): Promise<string> {
  const { hostname, pathname } = new URL(url);
  const body = typeof document === "string" ? document : JSON.stringify(document);
  const stored = await fetch(`${inject("clientMetadataStandIn")}/__documents/${hostname}${pathname}`, {
    method: "PUT",
    body,
  });
  expect(stored.status).toBe(200);
  return url;
}

/** How many times the relay fetched the document at `url`. */
export async function documentFetches(url: string): Promise<number> {
  const { hostname, pathname } = new URL(url);
  const answer = await fetch(`${inject("clientMetadataStandIn")}/__fetched/${hostname}${pathname}`);
  return ((await answer.json()) as { fetched: number }).fetched;
}
