import { AuthorizationError, authorizationErrorRedirect, CimdFetchError } from "@cloudflare/workers-oauth-provider";
import { type Context, Hono } from "hono";
import * as z from "zod";
import { writeAudit } from "../../audit/store";
import type { AppEnv } from "../../env";
import { InvalidRequest, NotFound, RelayError } from "../../errors";
import { readConfig, required } from "../../lib/config";
import { safeEqual } from "../../lib/constant-time";
import { mount, type RouteSpec } from "../../middleware/guard";
import { consentPage, errorPage } from "./consent-page";
import { findGrant, GRANT_ID, listGrants, revokeGrant } from "./grants";
import { sentFromThisOrigin } from "./same-origin-form";
import {
  AUTHORIZE_PATH,
  authorizationServer,
  FAILED_CODE_EXCHANGE,
  OWNER,
  REGISTER_PATH,
  RESOURCE_METADATA_PATH,
  relayOrigin,
  resourceOf,
  SCOPES,
  TOKEN_PATH,
} from "./server";

/**
 * OAuth 2.1 for `/mcp` (docs/api.md, "Kora over MCP"): discovery, dynamic client registration, the token
 * endpoint (codes, refresh, revocation) answered by @cloudflare/workers-oauth-provider from inside these
 * routes, so the relay's request line, origin policy and rate limits apply to them like to any route; and the
 * consent page, where the relay's owner approves a client with ADMIN_TOKEN.
 */
export const oauthRoutes = {
  authorizationServerMetadata: {
    method: "GET",
    path: "/.well-known/oauth-authorization-server",
    auth: "none",
    rateLimit: null,
    body: null,
  },
  protectedResourceMetadata: { method: "GET", path: RESOURCE_METADATA_PATH, auth: "none", rateLimit: null, body: null },
  // The same document at the root: clients that do not insert the resource's path (RFC 9728 §3.1) look here.
  protectedResourceMetadataRoot: {
    method: "GET",
    path: "/.well-known/oauth-protected-resource",
    auth: "none",
    rateLimit: null,
    body: null,
  },
  register: { method: "POST", path: REGISTER_PATH, auth: "none", rateLimit: "public", body: "json", errors: "oauth" },
  token: { method: "POST", path: TOKEN_PATH, auth: "oauth-client", rateLimit: "public", body: "form", errors: "oauth" },
  consent: { method: "GET", path: AUTHORIZE_PATH, auth: "none", rateLimit: "public", body: null, errors: "html" },
  approve: {
    method: "POST",
    path: AUTHORIZE_PATH,
    auth: "admin-form",
    rateLimit: "admin",
    body: "form",
    errors: "html",
  },
  listGrants: { method: "GET", path: "/admin/oauth/grants", auth: "admin", rateLimit: "admin", body: null },
  revokeGrant: {
    method: "POST",
    path: "/admin/oauth/grants/:id/revoke",
    auth: "admin",
    rateLimit: "admin",
    body: null,
  },
} as const satisfies Record<string, RouteSpec>;

/** The OAuth endpoints' and the consent page's sub-app. */
export const oauth = new Hono<AppEnv>();

/** The library's answer to a request for one of its endpoints, without CORS headers: the relay sets its own. */
async function answeredByLibrary(c: Context<AppEnv>): Promise<Response> {
  const server = authorizationServer(new URL(c.req.url));
  const headers = new Headers(c.req.raw.headers);
  headers.delete("Origin");
  // Hono types its own ExecutionContext; it is the Worker's.
  const ctx = c.executionCtx as unknown as ExecutionContext;
  const response = await server.fetch(new Request(c.req.raw, { headers }), c.env, ctx);
  // The library matches the raw path: a percent-encoded spelling of it that Hono routed here is not its.
  if (response.status === 404 && response.body === null) throw new NotFound();
  return response;
}

mount(oauth, oauthRoutes.authorizationServerMetadata, answeredByLibrary);
mount(oauth, oauthRoutes.register, answeredByLibrary);

// Codes, refresh tokens and revocation (RFC 7009). A code whose exchange failed after it was recognised (a wrong
// PKCE verifier, another client) is dead at once: its grant is revoked, so that a stolen code cannot be tried
// again with other verifiers (OAuth 2.1 §4.1.3 asks this of a code used twice).
mount(oauth, oauthRoutes.token, async (c) => {
  const form = c.req.raw.clone();
  const response = await answeredByLibrary(c);
  if (!response.headers.has(FAILED_CODE_EXCHANGE)) return response;
  const [userId = "", grantId = ""] = ((await formOf(form)).get("code") ?? "").split(":");
  await authorizationServer(new URL(c.req.url)).getOAuthApi(c.env).revokeGrant(grantId, userId);
  const headers = new Headers(response.headers);
  headers.delete(FAILED_CODE_EXCHANGE);
  return new Response(response.body, { status: response.status, headers });
});

/** RFC 9728 protected resource metadata of `/mcp`: where its tokens come from and which scopes exist. */
function resourceMetadata(c: Context<AppEnv>): Response {
  const origin = relayOrigin(new URL(c.req.url));
  if (origin === null) throw new RelayError(400, "https_required", "OAuth is served over https only");
  return c.json({
    resource: resourceOf(origin),
    authorization_servers: [origin],
    scopes_supported: [...SCOPES],
    bearer_methods_supported: ["header"],
    resource_name: "Kora (Soul Mirror Relay)",
  });
}

mount(oauth, oauthRoutes.protectedResourceMetadata, resourceMetadata);
mount(oauth, oauthRoutes.protectedResourceMetadataRoot, resourceMetadata);

/**
 * Answers the consent page's failures as a page: a redirect back to the client only when the library has
 * validated the client and its exact redirect URI; anything else is shown here, never redirected.
 */
async function asPage(run: () => Promise<Response>): Promise<Response> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AuthorizationError && error.redirectTo) return redirect(error.redirectTo);
    if (error instanceof AuthorizationError) return errorPage(400, error.description);
    if (error instanceof CimdFetchError) return errorPage(400, "This app's metadata document could not be read.");
    if (error instanceof RelayError) return errorPage(error.status, error.message);
    throw error;
  }
}

function redirect(location: string, headers = new Headers()): Response {
  headers.set("Location", location);
  headers.set("Cache-Control", "no-store");
  return new Response(null, { status: 302, headers });
}

/**
 * The longest client id looked up: a registered client's id is short, a metadata document's URL rarely passes
 * a few hundred characters, and OAUTH_KV takes keys of at most 512 bytes.
 */
const MAX_CLIENT_ID_LENGTH = 400;

// The consent page: the library checks the client, its exact registered redirect URI and the resource.
mount(oauth, oauthRoutes.consent, (c) =>
  asPage(async () => {
    if ((c.req.query("client_id")?.length ?? 0) > MAX_CLIENT_ID_LENGTH) {
      return errorPage(400, "This app is not registered with this relay.");
    }
    const api = authorizationServer(new URL(c.req.url)).getOAuthApi(c.env);
    const request = await api.parseAuthRequest(c.req.raw);
    // OAuth 2.1 and MCP: PKCE with S256 for every client, confidential ones too.
    if (!request.codeChallenge || request.codeChallengeMethod !== "S256") {
      return redirect(authorizationErrorRedirect(request, "invalid_request", "PKCE with S256 is required"));
    }
    const details = await api.describeConsent(request);
    // A one-time handle for the form, bound to this browser by a __Host- cookie (HttpOnly, Secure, SameSite).
    const consent = await api.beginConsent(request);
    return consentPage(details, consent.handle, consent.headers);
  }),
);

const ownerConfig = z.object({ ADMIN_TOKEN: required() });
const decision = z.object({
  handle: z.string().min(1).max(200),
  decision: z.enum(["approve", "deny"]),
  access: z.enum(["read", "write"]).default("read"),
  admin_token: z.string().max(1000).default(""),
});

// The decision. It must come from the consent page (same-origin-form.ts); the handle works once, for ten
// minutes, in the browser that opened the page (the library's approveConsent/denyConsent check its SameSite
// cookie); the owner proves who they are by typing ADMIN_TOKEN.
mount(oauth, oauthRoutes.approve, (c) =>
  asPage(async () => {
    if (!sentFromThisOrigin(c.req.raw)) {
      throw new RelayError(403, "cross_site_form", "This form was not sent from this relay's consent page.");
    }
    const api = authorizationServer(new URL(c.req.url)).getOAuthApi(c.env);
    const { ADMIN_TOKEN } = readConfig(c.env, ownerConfig);
    const parsed = decision.safeParse(Object.fromEntries(await formOf(c.req.raw)));
    if (!parsed.success)
      throw new RelayError(400, "invalid_request", "The form is incomplete; start again from the app");
    const form = parsed.data;
    if (form.decision === "deny") {
      const denied = await api.denyConsent(c.req.raw, form.handle);
      return new Response(null, { status: 302, headers: denied.headers });
    }
    if (!(await safeEqual(form.admin_token, ADMIN_TOKEN))) {
      throw new RelayError(401, "unauthorized", "That is not this relay's ADMIN_TOKEN. Go back and try again.");
    }
    const scope = form.access === "write" ? ["read", "write"] : ["read"];
    const approved = await api.approveConsent(c.req.raw, form.handle, { scope });
    const { redirectTo } = await api.completeAuthorization({
      request: approved.request,
      userId: OWNER,
      metadata: {},
      scope: approved.request.scope,
      props: {},
    });
    return redirect(redirectTo, approved.headers);
  }),
);

/** The posted form; a body that is not one reads as an empty form. */
async function formOf(request: Request): Promise<URLSearchParams> {
  const type = request.headers.get("Content-Type") ?? "";
  if (!/^application\/x-www-form-urlencoded\s*(?:;|$)/i.test(type)) return new URLSearchParams();
  return new URLSearchParams(new TextDecoder().decode(await request.clone().arrayBuffer()));
}

/** The OAuth API of the deployment that serves the request. */
function oauthApi(c: Context<AppEnv>) {
  return authorizationServer(new URL(c.req.url)).getOAuthApi(c.env);
}

// Who is connected to /mcp, with what scope, since when (docs/api.md, "OAuth grants").
mount(oauth, oauthRoutes.listGrants, async (c) => c.json({ success: true, grants: await listGrants(oauthApi(c)) }));

// Cuts a client off: its grant, refresh token and access tokens end at once.
mount(oauth, oauthRoutes.revokeGrant, async (c) => {
  const id = c.req.param("id") ?? "";
  if (!GRANT_ID.test(id)) throw new InvalidRequest("id: is not a grant id");
  const api = oauthApi(c);
  const grant = await findGrant(api, id);
  if (!grant) throw new NotFound(`No OAuth grant ${id}`, "grant_not_found");
  await revokeGrant(api, id);
  await writeAudit(c.env.DB, {
    at: new Date(),
    actor: "admin",
    action: "oauth_revoke",
    target: `oauth_client:${grant.client_id}`,
    outcome: "ok",
    requestId: c.get("requestId"),
  });
  return c.json({ success: true, grant });
});
