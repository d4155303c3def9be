import type { Handler, Hono, MiddlewareHandler } from "hono";
import { chatCaller, identifyCaller, type OAuthVerifier } from "../caller/identify";
import type { AppEnv } from "../env";
import { LIMITERS, type RateLimitScope } from "../rate-limit/limits";
import { limitBody } from "./body-limit";
import { requireCaller } from "./token-auth";

/**
 * Who may call a route. The token policies are enforced by `guard()`; the others by the route's handler,
 * because they need the request (a JWT's `sub`, a signature over the raw body).
 */
export type AuthPolicy =
  | "none"
  | "relay-secret" // RELAY_SECRET as Bearer or X-Relay-Secret
  | "trigger-credential" // RELAY_SECRET, or a relay key (smr_…) with the trigger scope (features/trigger)
  | "chat-credential" // RELAY_SECRET, a relay key (smr_…), or with CHAT_USER_JWT=true a user JWT
  | "chatgpt-token" // CHATGPT_BEARER_TOKEN as Bearer
  | "admin" // ADMIN_TOKEN as Bearer
  | "user-jwt" // a user JWT (USER_JWT_SECRET or USER_JWKS_URL)
  | "admin-or-user-jwt" // ADMIN_TOKEN, or a user JWT of the user asked about
  | "optional-user-jwt" // public; a user JWT, when sent, must verify and decides the user
  | "stripe-signature" // Stripe-Signature over the raw body, STRIPE_WEBHOOK_SECRET
  | "standard-webhook" // Standard Webhooks headers, PAYMENT_WEBHOOK_SECRET
  | "github-signature" // X-Hub-Signature-256 over the raw body, GITHUB_WEBHOOK_SECRET
  | "mcp-token" // CHATGPT_BEARER_TOKEN or an OAuth access token for /mcp, as Bearer (features/mcp)
  | "oauth-client" // an OAuth client at the token endpoint: a code and its PKCE verifier, or a refresh token
  | "admin-form"; // ADMIN_TOKEN typed into the consent form, with the form's one-time handle and cookie

/** One route of the relay, declared by its feature beside its handler and listed in src/routes.ts. */
export type RouteSpec = {
  method: "GET" | "POST" | "PUT";
  path: string;
  auth: AuthPolicy;
  rateLimit: RateLimitScope | null;
  /**
   * A JSON body (1 MiB at most; the handler validates it with its schema), a form body (the same cap), a
   * streamed upload, or none.
   */
  body: "json" | "form" | "stream" | null;
  /**
   * How the route itself answers a refusal when not in the relay's JSON error shape: `oauth` for the OAuth
   * protocol endpoints (RFC 6749 §5.2 `{error, error_description}`, which OAuth clients parse), `html` for the
   * consent page, whose reader is a person. The relay's own refusals (rate limit, body cap, origin) keep its shape.
   */
  errors?: "oauth" | "html";
  /** The OAuth feature's check of access tokens, for a route that takes them (`/mcp`). */
  oauthTokens?: OAuthVerifier;
};

/** The policies whose credential may come as `X-Relay-Secret` (RELAY_SECRET or a relay key). */
const RELAY_HEADER_POLICIES = new Set<AuthPolicy>(["relay-secret", "trigger-credential", "chat-credential"]);

/**
 * The policies the caller's kind settles (src/caller/identify.ts); the others are checked by the handler,
 * which has what they need. A relay key or user JWT passes here to be checked by its Meter or the JWT verifier.
 */
const TOKEN_CHECKS: Partial<Record<AuthPolicy, MiddlewareHandler<AppEnv>>> = {
  "relay-secret": requireCaller("RELAY_SECRET", (c) => c.get("caller").kind === "relay-secret"),
  "trigger-credential": requireCaller("RELAY_SECRET", (c) => {
    const { kind } = c.get("caller");
    return kind === "relay-secret" || kind === "relay-key";
  }),
  "chat-credential": requireCaller("RELAY_SECRET", (c) => chatCaller(c) !== null),
  "chatgpt-token": requireCaller("CHATGPT_BEARER_TOKEN", (c) => c.get("caller").kind === "chatgpt-token"),
  admin: requireCaller("ADMIN_TOKEN", (c) => c.get("caller").kind === "admin"),
};

const jsonBodyLimit = limitBody();

/**
 * The middleware a route's declaration asks for, in the order the relay promises: who is calling (decided
 * once, read by everything after), rate limit, then the token check (so that guessing is limited too), then
 * the 1 MiB cap on a JSON or form body.
 */
export function guard(spec: RouteSpec): MiddlewareHandler<AppEnv>[] {
  const chain: MiddlewareHandler<AppEnv>[] = [
    identifyCaller({ relayHeader: RELAY_HEADER_POLICIES.has(spec.auth), oauthTokens: spec.oauthTokens }),
  ];
  if (spec.rateLimit) chain.push(LIMITERS[spec.rateLimit]);
  const tokenCheck = TOKEN_CHECKS[spec.auth];
  if (tokenCheck) chain.push(tokenCheck);
  if (spec.body === "json" || spec.body === "form") chain.push(jsonBodyLimit);
  return chain;
}

/**
 * Mounts a route at its declared method and path: first `before` (for example an audit wrapper that must
 * see refusals too), then the guards its declaration asks for, then the handler.
 */
export function mount<E extends AppEnv>(
  app: Hono<E>,
  spec: RouteSpec,
  handler: Handler<NoInfer<E>>,
  before: MiddlewareHandler<NoInfer<E>>[] = [],
): void {
  const chain = [...before, ...guard(spec), handler] as Handler<E>[];
  app.on(spec.method, spec.path, ...(chain as [Handler<E>]));
}
