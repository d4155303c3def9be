import { OAuthAuthorizationServer } from "@cloudflare/workers-oauth-provider";
import { RelayError } from "../../errors";

/**
 * The relay's OAuth 2.1 authorization server for `/mcp` (@cloudflare/workers-oauth-provider): Client ID
 * Metadata Documents and dynamic client registration, PKCE with S256 only, short-lived access tokens and rotating refresh tokens, all stored in
 * OAUTH_KV as hashes. Its issuer and its one protected resource are the deployment that serves the request
 * (as /openapi.json's server URL is), so tokens issued on one hostname are refused on another.
 */

/** What a token may do: `read` (search, fetch, list) and `write` (comment, label, dispatch, trigger). */
export const SCOPES = ["read", "write"] as const;
export type Scope = (typeof SCOPES)[number];

/** The path of the protected resource, and of its RFC 9728 metadata. */
export const RESOURCE_PATH = "/mcp";
export const RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource/mcp";

/** The endpoints the library answers (token and revocation share one, as RFC 7009 allows). */
export const AUTHORIZE_PATH = "/authorize";
export const TOKEN_PATH = "/oauth/token";
export const REGISTER_PATH = "/oauth/register";

/** One hour: a stolen access token is worth little for long; the refresh token gets a new one. */
export const ACCESS_TOKEN_SECONDS = 60 * 60;
/** A grant lives 30 days from the code exchange, however often it is refreshed. */
export const REFRESH_TOKEN_SECONDS = 30 * 24 * 60 * 60;

/** The subject every grant is issued to: the relay has one owner, who approves with ADMIN_TOKEN. */
export const OWNER = "owner";

const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/**
 * The canonical origin of the deployment that serves `url`: https, except on a loopback host where
 * `wrangler dev` serves plain http. A plain-http request to any other host has no OAuth origin (null).
 */
export function relayOrigin(url: URL): string | null {
  if (url.protocol === "https:") return url.origin;
  return url.protocol === "http:" && LOOPBACK.test(url.hostname) ? url.origin : null;
}

/** The protected resource `/mcp` of the deployment that serves `url`. */
export function resourceOf(origin: string): string {
  return `${origin}${RESOURCE_PATH}`;
}

/**
 * The header by which the library's error answer tells the token route that an authorization code was genuine
 * and its exchange failed all the same (a wrong PKCE verifier, another client, another redirect URI). The route
 * revokes that code's grant and removes the header: the client never sees it.
 */
export const FAILED_CODE_EXCHANGE = "X-Relay-Failed-Code-Exchange";

/** Failures of a code exchange before the code is known to be genuine (or already handled: a replay revokes). */
const CODE_NOT_RECOGNISED = new Set([
  "code_missing",
  "code_malformed",
  "grant_not_found",
  "code_mismatch",
  "code_replayed",
]);

const servers = new Map<string, OAuthAuthorizationServer<Env>>();

/** The authorization server of one origin, built once per isolate and origin. */
export function authorizationServer(url: URL): OAuthAuthorizationServer<Env> {
  const origin = relayOrigin(url);
  if (origin === null) throw new RelayError(400, "https_required", "OAuth is served over https only");
  let server = servers.get(origin);
  if (!server) {
    // A Worker answers on a handful of hostnames; anything beyond that is not worth keeping.
    if (servers.size >= 8) servers.clear();
    server = new OAuthAuthorizationServer<Env>({
      issuer: origin,
      resources: [resourceOf(origin)],
      authorizeEndpoint: AUTHORIZE_PATH,
      tokenEndpoint: TOKEN_PATH,
      clientRegistrationEndpoint: REGISTER_PATH,
      // Client ID Metadata Documents: a client_id that is an https URL names the client's own description of
      // itself (name, redirect URIs), fetched from there (with global_fetch_strictly_public: wrangler.jsonc).
      clientIdMetadataDocumentEnabled: true,
      scopesSupported: [...SCOPES],
      accessTokenTTL: ACCESS_TOKEN_SECONDS,
      refreshTokenTTL: REFRESH_TOKEN_SECONDS,
      // The library would log every refused token request with its description; the request line is enough.
      // Its answer stays RFC 6749's, marked when a genuine code failed (see FAILED_CODE_EXCHANGE).
      onError: ({ code, description, status, headers, internal }) => {
        if (internal.category !== "authorization-code-grant" || CODE_NOT_RECOGNISED.has(internal.reason)) return;
        return Response.json(
          { error: code, error_description: description },
          { status, headers: { ...headers, [FAILED_CODE_EXCHANGE]: "1" } },
        );
      },
    });
    servers.set(origin, server);
  }
  return server;
}

/** What a valid access token grants: its scopes, and whose grant it is (the rate-limit bucket). */
export type TokenGrant = { scopes: Scope[]; grant: string };

/** Validates an access token for the `/mcp` of the deployment that serves `url`; null when it is not valid there. */
export async function validateAccessToken(url: URL, token: string, env: Env): Promise<TokenGrant | null> {
  const origin = relayOrigin(url);
  // Tokens look like `user:grant:secret`; anything else is not one of ours, and costs no KV read.
  if (origin === null || token.split(":").length !== 3) return null;
  const valid = await authorizationServer(url).validateToken(resourceOf(origin), token, env);
  if (!valid) return null;
  const scopes = SCOPES.filter((scope) => valid.scope?.includes(scope));
  return { scopes, grant: `${valid.userId ?? ""}:${token.split(":")[1] ?? ""}` };
}
