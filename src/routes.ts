import type { Handler, Hono, MiddlewareHandler } from "hono";
import type * as z from "zod";
import { auditQuery } from "./audit/schema";
import type { AppEnv } from "./env";
import { billingQuery, storeQuery } from "./features/billing/schema";
import { chatRequest } from "./features/chat/schema";
import { commentRequest, dispatchRequest, labelRequest, listRequest } from "./features/connector/schema";
import { checkQuery, grantBody, revokeBody, userQuery } from "./features/ledger/schema";
import { listQuery } from "./features/library/schema";
import { paymentEvent, stripeEvent } from "./features/payments/schema";
import { triggerRequest } from "./features/trigger/schema";
import { guard } from "./middleware/guard";

/**
 * Who may call a route. The token policies are enforced by `guard()` from this table; the others by the
 * route's handler, because they need the request (a JWT's `sub`, a signature over the raw body).
 */
export type AuthPolicy =
  | "none"
  | "relay-secret" // RELAY_SECRET as Bearer or X-Relay-Secret
  | "chatgpt-token" // CHATGPT_BEARER_TOKEN as Bearer
  | "admin" // ADMIN_TOKEN as Bearer
  | "user-jwt" // a user JWT (USER_JWT_SECRET or USER_JWKS_URL)
  | "admin-or-user-jwt" // ADMIN_TOKEN, or a user JWT whose sub is the user asked about
  | "optional-user-jwt" // public; a user JWT, when sent, must verify and decides the user
  | "stripe-signature" // Stripe-Signature over the raw body, STRIPE_WEBHOOK_SECRET
  | "standard-webhook"; // Standard Webhooks headers, PAYMENT_WEBHOOK_SECRET

/** Which exact, Durable-Object-backed limit counts a route's requests (all run before authentication). */
export type RateLimitScope =
  | "chat" // RATE_LIMIT_REQUESTS per minute per IP
  | "connector" // CONNECTOR_RATE_LIMIT per minute for the configured token, else per IP
  | "trigger" // TRIGGER_RATE_LIMIT per minute per IP
  | "public" // PUBLIC_RATE_LIMIT per minute per IP, one bucket for links, check and library
  | "admin"; // PUBLIC_RATE_LIMIT per minute per IP, a bucket of its own for ADMIN_TOKEN routes

/** One route of the relay: declared here once, mounted from here, and enumerated by the tests. */
export type RouteSpec = {
  method: "GET" | "POST" | "PUT";
  path: string;
  auth: AuthPolicy;
  rateLimit: RateLimitScope | null;
  /** A JSON body (1 MiB at most), a streamed upload, or none. */
  body: z.ZodType | "stream" | null;
  query: z.ZodType | null;
};

const route = (spec: Omit<RouteSpec, "query"> & { query?: z.ZodType }): RouteSpec => ({ query: null, ...spec });

/** Every route of the relay. A route mounted but not declared here (or the reverse) stops the Worker loading. */
export const ROUTES = {
  health: route({ method: "GET", path: "/relay/health", auth: "none", rateLimit: null, body: null }),
  chat: route({
    method: "POST",
    path: "/relay/openai/chat",
    auth: "relay-secret",
    rateLimit: "chat",
    body: chatRequest,
  }),
  chatCompletions: route({
    method: "POST",
    path: "/v1/chat/completions",
    auth: "relay-secret",
    rateLimit: "chat",
    body: chatRequest,
  }),
  dispatch: route({
    method: "POST",
    path: "/chatgpt/dispatch",
    auth: "chatgpt-token",
    rateLimit: "connector",
    body: dispatchRequest,
  }),
  listPulls: route({
    method: "POST",
    path: "/chatgpt/prs/list",
    auth: "chatgpt-token",
    rateLimit: "connector",
    body: listRequest,
  }),
  comment: route({
    method: "POST",
    path: "/chatgpt/prs/comment",
    auth: "chatgpt-token",
    rateLimit: "connector",
    body: commentRequest,
  }),
  label: route({
    method: "POST",
    path: "/chatgpt/prs/label",
    auth: "chatgpt-token",
    rateLimit: "connector",
    body: labelRequest,
  }),
  openapi: route({ method: "GET", path: "/openapi.json", auth: "none", rateLimit: null, body: null }),
  trigger: route({
    method: "POST",
    path: "/trigger-hive",
    auth: "relay-secret",
    rateLimit: "trigger",
    body: triggerRequest,
  }),
  audit: route({
    method: "GET",
    path: "/admin/audit",
    auth: "admin",
    rateLimit: "admin",
    body: null,
    query: auditQuery,
  }),
  billingLink: route({
    method: "GET",
    path: "/billing/link",
    auth: "optional-user-jwt",
    rateLimit: "public",
    body: null,
    query: billingQuery,
  }),
  storeLink: route({
    method: "GET",
    path: "/store/link",
    auth: "optional-user-jwt",
    rateLimit: "public",
    body: null,
    query: storeQuery,
  }),
  check: route({
    method: "GET",
    path: "/entitlements/check",
    auth: "admin-or-user-jwt",
    rateLimit: "public",
    body: null,
    query: checkQuery,
  }),
  grant: route({ method: "POST", path: "/entitlements/grant", auth: "admin", rateLimit: "admin", body: grantBody }),
  revoke: route({ method: "POST", path: "/entitlements/revoke", auth: "admin", rateLimit: "admin", body: revokeBody }),
  history: route({
    method: "GET",
    path: "/entitlements/history",
    auth: "admin",
    rateLimit: "admin",
    body: null,
    query: userQuery,
  }),
  stripeWebhook: route({
    method: "POST",
    path: "/webhooks/stripe",
    auth: "stripe-signature",
    rateLimit: null,
    body: stripeEvent,
  }),
  paymentWebhook: route({
    method: "POST",
    path: "/webhooks/payment",
    auth: "standard-webhook",
    rateLimit: null,
    body: paymentEvent,
  }),
  libraryList: route({
    method: "GET",
    path: "/library",
    auth: "user-jwt",
    rateLimit: "public",
    body: null,
    query: listQuery,
  }),
  libraryItem: route({ method: "GET", path: "/library/*", auth: "user-jwt", rateLimit: "public", body: null }),
  libraryUpload: route({ method: "PUT", path: "/admin/library/*", auth: "admin", rateLimit: "admin", body: "stream" }),
} as const satisfies Record<string, RouteSpec>;

export type RouteName = keyof typeof ROUTES;

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

/**
 * Throws unless the mounted routes and the table agree exactly, so that a route added without a declared
 * policy fails every test (and CI) instead of going out unguarded.
 */
export function assertRoutesDeclared(mounted: ReadonlyArray<{ method: string; path: string }>): void {
  const declared = new Set(Object.values(ROUTES).map((spec) => `${spec.method} ${spec.path}`));
  const actual = new Set(mounted.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`));
  const undeclared = [...actual].filter((key) => !declared.has(key));
  const unmounted = [...declared].filter((key) => !actual.has(key));
  if (undeclared.length > 0 || unmounted.length > 0) {
    throw new Error(
      `Route table out of date: undeclared ${undeclared.join(", ") || "none"}; unmounted ${unmounted.join(", ") || "none"}`,
    );
  }
}
