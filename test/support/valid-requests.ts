import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { writeAudit } from "../../src/audit/store";
import type { AuthPolicy } from "../../src/middleware/guard";
import type { RouteName } from "../../src/routes";
import type { FuzzJson } from "../fuzz/values";
import { ADMIN_TOKEN, CHATGPT_BEARER_TOKEN, RELAY_SECRET } from "../secrets";
import { workflowRun } from "./dispatches";
import { createKey } from "./keys";
import { grant, postStripe, stripeEvent, userJwt } from "./ledger";
import { FAR, stored } from "./library";
import {
  authorizationCode,
  authorizeQuery,
  issuedTokens,
  openConsent,
  pkcePair,
  REDIRECT_URI,
  registerClient,
} from "./oauth";
import { relay, uniqueId, uniqueIp } from "./relay";

/**
 * One valid request per route of ROUTES: the table the auth matrix, the security-header suite and the fuzzer
 * start from. `Record<RouteName, …>`: a route added to ROUTES without a valid request here does not compile.
 */

/** What one use of a valid request owns, so that requests sent at once never share a user, key or event. */
export type RequestContext = {
  /** The user the request is about (and whose user JWT is the right credential). */
  user: string;
  /** A user who holds nothing, for "another user's token". */
  otherUser: string;
  /** An R2 key nothing else uses. */
  key: string;
  /** The webhook event id of the request. */
  eventId: string;
};

/** A fresh context. */
export function newContext(): RequestContext {
  return {
    user: uniqueId("vr-user"),
    otherUser: uniqueId("vr-other"),
    key: `${uniqueId("vr-upload")}/file.txt`,
    eventId: uniqueId("evt"),
  };
}

/** A valid request without its credential. */
export type ValidRequest = {
  /** The path, percent-encoded, without the query. */
  path: string;
  query: Array<[string, string]>;
  /** Headers besides the credential. */
  headers: Record<string, string>;
  /** A JSON body, or `text` for a body that is not JSON (the library upload). */
  body?: FuzzJson;
  text?: string;
  /** The user a user JWT must name to be the right credential. */
  subject?: string;
  /**
   * A form field that carries the credential instead of a header (the consent form's ADMIN_TOKEN): suites put
   * the bearer token of their credential there (`credentialIntoForm`).
   */
  formCredential?: string;
};

/** A route's valid request and what its success looks like. */
export type RouteExample = {
  /** State the request needs (a grant to revoke, an item to read), created before it is sent. */
  setup?: (c: RequestContext) => Promise<void>;
  /** The request; `variant` picks among several valid kinds (0, the plainest, is what most suites send). */
  request: (c: RequestContext, variant: number) => ValidRequest;
  /** What a success of variant 0 must show beyond its 2xx status. */
  succeeded: (response: Response, c: RequestContext) => Promise<void>;
  /** How many requests a success of variant 0 sends to each stand-in. */
  upstream: { openai: number; github: number };
  /** The audit row every attempt writes, refusals included (target as known before the body is read). */
  audited: { actor: string; action: string; target: string } | null;
  /** `user-jwt` routes: the answer to a valid token of a user who holds nothing. */
  asOtherUser?: (response: Response) => Promise<void>;
  /** The `Cache-Control` of a success, when it is not `no-store`. */
  cache?: string;
  /** A success is a redirect (302 with Location), not a 2xx: the consent form's decision. */
  redirects?: boolean;
  /**
   * Taken only from the relay's own page (the consent form): with an `Origin`, only the relay's own succeeds,
   * whatever ORIGIN_ALLOWLIST says; any other is a cross-site post.
   */
  ownOriginOnly?: boolean;
};

const JSON_TYPE = { "Content-Type": "application/json" };
const NOTHING = { openai: 0, github: 0 };

async function bodyOf(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

async function granted(body: Record<string, unknown>): Promise<void> {
  expect((await grant(body)).status).toBe(200);
}

/** The user's purchases of EBOOK, revoked or not (what grant, revoke and the webhooks change). */
async function expectPurchase(c: RequestContext, revoked: boolean): Promise<void> {
  const { results } = await env.DB.prepare(
    "SELECT sku, revoked_at FROM entitlements WHERE user_id = ? AND kind = 'purchase'",
  )
    .bind(c.user)
    .all<{ sku: string; revoked_at: string | null }>();
  expect(results.map((row) => ({ sku: row.sku, revoked: row.revoked_at !== null }))).toEqual([
    { sku: "EBOOK", revoked },
  ]);
}

// One library item for the two read routes, uploaded once: subscribers of any tier may read it.
const ITEM_DIR = uniqueId("vr-library");
const ITEM_KEY = `${ITEM_DIR}/item.txt`;
let itemStored: Promise<void> | undefined;
function itemInLibrary(): Promise<void> {
  itemStored ??= stored(ITEM_KEY, "library item", { "X-Library-Tier": "monthly" });
  return itemStored;
}
async function itemAndSubscription(c: RequestContext): Promise<void> {
  await itemInLibrary();
  await granted({ user_id: c.user, type: "subscription", tier: "monthly", expires_at: FAR });
}

function chatBody(variant: number): FuzzJson {
  return {
    model: "gpt-4o-mini",
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: variant % 2 ? [{ type: "text", text: "Hi" }] : "Hello" },
    ],
    max_tokens: 50,
    temperature: 0.2,
    stream: false,
  };
}

const chat = (path: string): RouteExample => ({
  request: (_, variant) => ({ path, query: [], headers: JSON_TYPE, body: chatBody(variant) }),
  succeeded: async (response) => expect(await bodyOf(response)).toMatchObject({ object: "chat.completion" }),
  upstream: { openai: 1, github: 0 },
  audited: null,
});

const connector = (path: string, body: Record<string, FuzzJson>, action: string | null): RouteExample => ({
  request: () => ({ path, query: [], headers: JSON_TYPE, body }),
  succeeded: async (response) => expect(await bodyOf(response)).toMatchObject({ success: true }),
  upstream: { openai: 0, github: 1 },
  audited: action === null ? null : { actor: "chatgpt", action, target: "unknown" },
});

/** A relay key to create: a plain one, or one with every limit. */
function keyBody(user: string, variant: number): FuzzJson {
  if (variant % 2) return { name: `key of ${user}` };
  return {
    name: `key of ${user}`,
    scopes: ["chat"],
    models: ["gpt-4o-mini"],
    monthly_token_budget: 100_000,
    rate_limit_per_minute: 30,
  };
}

// The relay keys the revoke route's requests name, by the context's user.
const keysOf = new Map<string, string>();
/** The OAuth grant each revokeGrant request revokes, by its context's user. */
const grantsOf = new Map<string, string>();

// The dispatches the status routes and the GitHub webhook's requests name, by the context's user.
const dispatchesOf = new Map<string, string>();

/** A dispatch GitHub took (through the Worker's default GitHub scenario), made with `credential`; its id. */
async function createdDispatch(c: RequestContext, path: string, credential: string, body: FuzzJson): Promise<void> {
  const response = await relay(path, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Authorization: `Bearer ${credential}`,
      "CF-Connecting-IP": uniqueIp(),
    },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  dispatchesOf.set(c.user, ((await response.json()) as { request_id: string }).request_id);
}

const dispatchOf = (c: RequestContext) => dispatchesOf.get(c.user) ?? "00000000-0000-4000-8000-000000000000";

/** A trigger's status route, or the connector's. */
const dispatchStatus = (path: string, credential: string, body: FuzzJson): RouteExample => ({
  setup: (c) => createdDispatch(c, path, credential, body),
  request: (c) => ({ path: `${path}/${dispatchOf(c)}`, query: [], headers: {} }),
  succeeded: async (response, c) =>
    expect(await bodyOf(response)).toMatchObject({ success: true, request_id: dispatchOf(c), status: "dispatched" }),
  upstream: NOTHING,
  audited: null,
});

/** A Stripe subscription and payment intent the ledger knows for `c.user`, named after the user. */
async function knownStripeSubscription(c: RequestContext): Promise<void> {
  const checkout = stripeEvent(uniqueId("evt"), "checkout.session.completed", {
    id: uniqueId("cs"),
    payment_status: "paid",
    client_reference_id: c.user,
    metadata: { tier: "monthly" },
    customer: `cus_${c.user}`,
    subscription: `sub_${c.user}`,
    payment_intent: `pi_${c.user}`,
  });
  expect((await postStripe(checkout)).status).toBe(200);
}

function stripeBody(c: RequestContext, variant: number): FuzzJson {
  const envelope = (type: string, object: Record<string, FuzzJson>) => ({
    id: c.eventId,
    object: "event",
    type,
    created: 1_700_000_000,
    data: { object },
  });
  switch (variant % 5) {
    case 1:
      return envelope("invoice.paid", {
        subscription: `sub_${c.user}`,
        payment_intent: `pi_${c.eventId}`,
        lines: { data: [{ period: { end: 4_102_444_800 } }] },
      });
    case 2:
      return envelope("customer.subscription.deleted", { id: `sub_${c.user}`, ended_at: 4_102_444_800 });
    case 3:
      return envelope("charge.refunded", { payment_intent: `pi_${c.user}`, refunded: true });
    case 4:
      return envelope("checkout.session.completed", {
        payment_status: "paid",
        client_reference_id: c.user,
        metadata: { tier: "quarterly" },
        subscription: { id: `sub_${c.eventId}` },
      });
    default:
      return envelope("checkout.session.completed", {
        id: `cs_${c.eventId}`,
        object: "checkout.session",
        mode: "payment",
        payment_status: "paid",
        client_reference_id: c.user,
        customer: `cus_${c.eventId}`,
        subscription: null,
        payment_intent: `pi_${c.eventId}`,
        metadata: { sku: "EBOOK" },
      });
  }
}

function paymentBody(c: RequestContext, variant: number): FuzzJson {
  const events: FuzzJson[] = [
    { type: "purchase.completed", user_id: c.user, sku: "EBOOK" },
    { type: "subscription.activated", user_id: c.user, tier: "monthly", expires_at: "2030-01-01T00:00:00Z" },
    { type: "subscription.renewed", user_id: c.user, tier: "monthly", subscription_id: "S-1" },
    { type: "subscription.canceled", user_id: c.user },
    { type: "purchase.refunded", user_id: c.user, sku: "EBOOK", purchase_id: "P-1" },
  ];
  return events[variant % events.length] as FuzzJson;
}

const MCP_HEADERS = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
const FORM_TYPE = { "Content-Type": "application/x-www-form-urlencoded" };

/** Variant 0 lists pull requests through the MCP tool (one GitHub call); the others list the tools. */
function mcpBody(variant: number): FuzzJson {
  if (variant % 2) return { jsonrpc: "2.0", id: variant, method: "tools/list" };
  return {
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name: "list_pull_requests", arguments: { owner: "octo-org", repo: "widgets", per_page: 2 } },
  };
}

/** OAuth state a request of a context needs (a code, a refresh token, consent handles), made by its setup. */
const oauthState = new Map<
  string,
  { clientId: string; verifier: string; code: string; refreshToken: string; refreshClientId: string }
>();
const consentState = new Map<string, { clientId: string; forms: Array<{ handle: string; cookie: string }> }>();
const VARIANTS = 6;

function oauthOf(c: RequestContext) {
  const state = oauthState.get(c.user);
  if (!state) throw new Error(`no OAuth state for ${c.user}: its setup has not run`);
  return state;
}

function consentOf(c: RequestContext) {
  const state = consentState.get(c.user);
  if (!state) throw new Error(`no consent forms for ${c.user}: its setup has not run`);
  return state;
}

/** A discovery document: public, no upstream, its one check of a key field. */
const discovery = (path: string, field: string): RouteExample => ({
  request: () => ({ path, query: [], headers: {} }),
  succeeded: async (response) =>
    expect(await bodyOf(response)).toMatchObject({ [field]: expect.stringMatching(/^https:\/\/[a-z.]+/) }),
  upstream: NOTHING,
  audited: null,
});

export const VALID_REQUESTS: Record<RouteName, RouteExample> = {
  health: {
    request: () => ({ path: "/relay/health", query: [], headers: {} }),
    succeeded: async (response) => expect(await response.json()).toEqual({ status: "ok" }),
    upstream: NOTHING,
    audited: null,
  },
  chat: chat("/relay/openai/chat"),
  chatCompletions: chat("/v1/chat/completions"),
  responses: {
    request: (_, variant) => ({
      path: "/v1/responses",
      query: [],
      headers: JSON_TYPE,
      body: {
        model: "gpt-4o-mini",
        input: variant % 2 ? [{ role: "user", content: [{ type: "input_text", text: "Hi" }] }] : "Hello",
        instructions: "Be brief.",
        max_output_tokens: 50,
        metadata: { app: "valid-requests" },
      },
    }),
    succeeded: async (response) =>
      expect(await bodyOf(response)).toMatchObject({ object: "response", status: "completed" }),
    upstream: { openai: 1, github: 0 },
    audited: null,
  },
  embeddings: {
    request: (_, variant) => ({
      path: "/v1/embeddings",
      query: [],
      headers: JSON_TYPE,
      body: {
        model: "text-embedding-3-small",
        input: variant % 2 ? ["Hello", "world"] : "Hello",
        encoding_format: variant % 2 ? "base64" : "float",
      },
    }),
    succeeded: async (response) =>
      expect(await bodyOf(response)).toMatchObject({ object: "list", data: [{ object: "embedding", index: 0 }] }),
    upstream: { openai: 1, github: 0 },
    audited: null,
  },
  dispatch: connector(
    "/chatgpt/dispatch",
    { owner: "octo", repo: "hivemind", event_type: "hivemind-task", client_payload: { task: "write docs", n: 1 } },
    "dispatch",
  ),
  listPulls: connector(
    "/chatgpt/prs/list",
    { owner: "octo-org", repo: "widgets", state: "open", per_page: 2, page: 1 },
    null,
  ),
  comment: connector(
    "/chatgpt/prs/comment",
    { owner: "octo", repo: "hivemind", pull_number: 3, body: "Looks good" },
    "comment",
  ),
  label: connector(
    "/chatgpt/prs/label",
    { owner: "octo", repo: "hivemind", pull_number: 3, labels: ["kora", "bug"] },
    "label",
  ),
  openapi: {
    request: () => ({ path: "/openapi.json", query: [], headers: {} }),
    succeeded: async (response) => expect(await bodyOf(response)).toMatchObject({ openapi: "3.1.0" }),
    upstream: NOTHING,
    audited: null,
  },
  trigger: {
    // Variant 0 dispatches for real; the others mix actions and dry runs.
    request: (_, variant) => ({
      path: "/trigger-hive",
      query: [],
      headers: JSON_TYPE,
      body: { action: variant % 2 ? "plan" : "execute", dry_run: variant % 3 !== 0, payload: { task: "docs" } },
    }),
    succeeded: async (response) => expect(await bodyOf(response)).toMatchObject({ success: true, dispatched: true }),
    upstream: { openai: 0, github: 1 },
    audited: { actor: "operator", action: "trigger", target: "octo/hive" },
  },
  triggerStatus: dispatchStatus("/trigger-hive", RELAY_SECRET, { action: "plan" }),
  dispatchStatus: dispatchStatus("/chatgpt/dispatch", CHATGPT_BEARER_TOKEN, { owner: "octo", repo: "hivemind" }),
  githubWebhook: {
    // A run of the context's trigger: requested, in progress or completed (any later variant is stale: 200).
    setup: (c) => createdDispatch(c, "/trigger-hive", RELAY_SECRET, { action: "plan" }),
    request: (c, variant) => {
      const action = (["requested", "in_progress", "completed"] as const)[variant % 3] ?? "requested";
      return {
        path: "/webhooks/github",
        query: [],
        headers: {
          "Content-Type": "application/json",
          "X-GitHub-Event": "workflow_run",
          "X-GitHub-Delivery": c.eventId,
        },
        body: workflowRun({ requestId: dispatchOf(c), repository: "octo/hive", action }) as FuzzJson,
      };
    },
    succeeded: async (response, c) => {
      expect(await bodyOf(response)).toMatchObject({ success: true, outcome: "recorded", request_id: dispatchOf(c) });
      const row = await env.DB.prepare("SELECT status FROM dispatches WHERE request_id = ?")
        .bind(dispatchOf(c))
        .first();
      expect(row).toEqual({ status: "running" });
    },
    upstream: NOTHING,
    audited: null,
  },
  audit: {
    setup: (c) =>
      writeAudit(env.DB, { at: new Date(), actor: "admin", action: "grant", target: `user:${c.user}`, outcome: "ok" }),
    request: (_, variant) => ({
      path: "/admin/audit",
      query: [
        [["limit", "5"]],
        [
          ["limit", "5"],
          ["cursor", "100"],
        ],
        [
          ["limit", "5"],
          ["actor", "admin"],
          ["action", "grant"],
        ],
      ][variant % 3] as Array<[string, string]>,
      headers: {},
    }),
    succeeded: async (response, c) =>
      expect(await bodyOf(response)).toMatchObject({
        success: true,
        records: expect.arrayContaining([expect.objectContaining({ target: `user:${c.user}` })]),
      }),
    upstream: NOTHING,
    audited: null,
  },
  auditSummary: {
    setup: (c) =>
      writeAudit(env.DB, {
        at: new Date("2004-06-15T10:00:00Z"),
        actor: c.user,
        action: "grant",
        target: `user:${c.user}`,
        outcome: "ok",
      }),
    request: () => ({
      path: "/admin/audit/summary",
      query: [
        ["from", "2004-06-01"],
        ["to", "2004-06-30"],
      ],
      headers: {},
    }),
    succeeded: async (response, c) =>
      expect(await bodyOf(response)).toMatchObject({
        success: true,
        counts: expect.arrayContaining([{ actor: c.user, action: "grant", outcome: "ok", count: 1 }]),
      }),
    upstream: NOTHING,
    audited: null,
  },
  billingLink: {
    request: (c, variant) => ({
      path: "/billing/link",
      query: [
        ["tier", variant % 2 ? "quarterly" : "monthly"],
        ["user_id", c.user],
      ],
      headers: {},
      subject: c.user,
    }),
    succeeded: async (response, c) =>
      expect(await bodyOf(response)).toMatchObject({
        success: true,
        payment_link: `https://pay.test/monthly?client_reference_id=${c.user}`,
      }),
    upstream: NOTHING,
    audited: null,
  },
  storeLink: {
    request: (c, variant) => ({
      path: "/store/link",
      query: [
        ["sku", variant % 2 ? "my-course" : "EBOOK"],
        ["user_id", c.user],
      ],
      headers: {},
      subject: c.user,
    }),
    succeeded: async (response, c) =>
      expect(await bodyOf(response)).toMatchObject({
        success: true,
        payment_link: `https://pay.test/ebook?client_reference_id=${c.user}`,
      }),
    upstream: NOTHING,
    audited: null,
  },
  check: {
    setup: (c) => granted({ user_id: c.user, type: "purchase", sku: "EBOOK" }),
    request: (c) => ({ path: "/entitlements/check", query: [["user_id", c.user]], headers: {}, subject: c.user }),
    succeeded: async (response, c) =>
      expect(await bodyOf(response)).toMatchObject({ success: true, user_id: c.user, has_access: true }),
    upstream: NOTHING,
    audited: null,
  },
  grant: {
    request: (c, variant) => ({
      path: "/entitlements/grant",
      query: [],
      headers: JSON_TYPE,
      body:
        variant % 2
          ? ({
              user_id: c.user,
              type: "subscription",
              tier: "yearly",
              expires_at: "2031-05-06T07:08:09+02:00",
            } as FuzzJson)
          : ({ user_id: c.user, type: "purchase", sku: "EBOOK" } as FuzzJson),
    }),
    succeeded: async (response, c) => {
      expect(await bodyOf(response)).toMatchObject({ success: true, user_id: c.user });
      await expectPurchase(c, false);
    },
    upstream: NOTHING,
    audited: null,
  },
  revoke: {
    // Something to revoke in every case, so that a refusal would have had something to change.
    setup: async (c) => {
      await granted({ user_id: c.user, type: "purchase", sku: "EBOOK" });
      await granted({ user_id: c.user, type: "subscription", tier: "monthly", expires_at: FAR });
    },
    request: (c, variant) => ({
      path: "/entitlements/revoke",
      query: [],
      headers: JSON_TYPE,
      body:
        variant % 2
          ? ({ user_id: c.user, type: "subscription", tier: "monthly", reason: "chargeback" } as FuzzJson)
          : ({ user_id: c.user, type: "purchase", sku: "EBOOK", reason: "refund" } as FuzzJson),
    }),
    succeeded: async (response, c) => {
      expect(await bodyOf(response)).toMatchObject({ success: true, user_id: c.user });
      await expectPurchase(c, true);
    },
    upstream: NOTHING,
    audited: null,
  },
  history: {
    setup: (c) => granted({ user_id: c.user, type: "purchase", sku: "EBOOK" }),
    request: (c) => ({ path: "/entitlements/history", query: [["user_id", c.user]], headers: {} }),
    succeeded: async (response, c) =>
      expect(await bodyOf(response)).toMatchObject({ success: true, user_id: c.user, events: [{ type: "grant" }] }),
    upstream: NOTHING,
    audited: null,
  },
  payments: {
    request: (_, variant) => ({
      path: "/admin/payments",
      query: [
        ["from", variant % 2 ? "2026-02-01" : "2026-01-01"],
        ["to", "2026-12-31"],
      ],
      headers: {},
    }),
    succeeded: async (response) =>
      expect(await bodyOf(response)).toMatchObject({ success: true, from: "2026-01-01", counts: expect.any(Array) }),
    upstream: NOTHING,
    audited: null,
  },
  stripeWebhook: {
    // The subscription and payment intent the renewal, cancellation and refund variants refer to.
    setup: knownStripeSubscription,
    request: (c, variant) => ({
      path: "/webhooks/stripe",
      query: [],
      headers: { "Content-Type": "application/json; charset=utf-8" },
      body: stripeBody(c, variant),
    }),
    succeeded: async (response, c) => {
      expect(await response.json()).toEqual({ success: true, event_id: c.eventId, outcome: "applied" });
      await expectPurchase(c, false);
    },
    upstream: NOTHING,
    audited: null,
  },
  paymentWebhook: {
    request: (c, variant) => ({
      path: "/webhooks/payment",
      query: [],
      headers: JSON_TYPE,
      body: paymentBody(c, variant),
    }),
    succeeded: async (response, c) => {
      expect(await response.json()).toEqual({ success: true, event_id: c.eventId, outcome: "applied" });
      await expectPurchase(c, false);
    },
    upstream: NOTHING,
    audited: null,
  },
  libraryList: {
    setup: itemAndSubscription,
    request: (c, variant) => ({
      path: "/library",
      query: [
        ["prefix", `${ITEM_DIR}/`],
        ["limit", "10"],
      ],
      headers: {},
      subject: variant % 2 ? c.otherUser : c.user,
    }),
    succeeded: async (response) =>
      expect(await bodyOf(response)).toMatchObject({ success: true, items: [{ key: ITEM_KEY }] }),
    upstream: NOTHING,
    audited: null,
    asOtherUser: async (response) => {
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ success: true, items: [], next_cursor: null });
    },
  },
  libraryItem: {
    setup: itemAndSubscription,
    request: (c, variant) => ({
      path: `/library/${ITEM_KEY}`,
      query: [],
      headers: {},
      subject: variant % 2 ? c.otherUser : c.user,
    }),
    succeeded: async (response) => expect(await response.text()).toBe("library item"),
    upstream: NOTHING,
    audited: null,
    asOtherUser: async (response) => {
      expect(response.status).toBe(402);
      expect(await bodyOf(response)).toMatchObject({ success: false, error: { code: "payment_required" } });
    },
    cache: "private, no-cache",
  },
  libraryAdminList: {
    setup: itemInLibrary,
    request: (_, variant) => ({
      path: "/admin/library",
      query: [
        ["prefix", `${ITEM_DIR}/`],
        ["limit", variant % 2 ? "1" : "10"],
      ],
      headers: {},
    }),
    succeeded: async (response) =>
      expect(await bodyOf(response)).toEqual({
        success: true,
        items: [expect.objectContaining({ key: ITEM_KEY, tier: "monthly", sku: null })],
        next_cursor: null,
      }),
    upstream: NOTHING,
    audited: null,
  },
  models: {
    request: () => ({ path: "/v1/models", query: [], headers: {} }),
    succeeded: async (response) =>
      expect(await bodyOf(response)).toMatchObject({ object: "list", data: expect.any(Array) }),
    upstream: NOTHING,
    audited: null,
  },
  model: {
    request: () => ({ path: "/v1/models/gpt-4o-mini", query: [], headers: {} }),
    succeeded: async (response) =>
      expect(await bodyOf(response)).toEqual({ id: "gpt-4o-mini", object: "model", created: 0, owned_by: "openai" }),
    upstream: NOTHING,
    audited: null,
  },
  createKey: {
    request: (c, variant) => ({
      path: "/admin/keys",
      query: [],
      headers: JSON_TYPE,
      body: keyBody(c.user, variant),
    }),
    succeeded: async (response) => {
      expect(response.status).toBe(201);
      expect(await bodyOf(response)).toMatchObject({ success: true, secret: expect.stringMatching(/^smr_/) });
    },
    upstream: NOTHING,
    audited: null,
  },
  listKeys: {
    request: () => ({ path: "/admin/keys", query: [], headers: {} }),
    succeeded: async (response) =>
      expect(await bodyOf(response)).toMatchObject({ success: true, keys: expect.any(Array) }),
    upstream: NOTHING,
    audited: null,
  },
  revokeKey: {
    setup: async (c) => {
      keysOf.set(c.user, (await createKey({ name: c.user })).id);
    },
    request: (c) => ({
      path: `/admin/keys/${keysOf.get(c.user) ?? "key_0000000000000000"}/revoke`,
      query: [],
      headers: {},
    }),
    succeeded: async (response) =>
      expect(await bodyOf(response)).toMatchObject({ success: true, key: { revoked_at: expect.any(String) } }),
    upstream: NOTHING,
    audited: null,
  },
  listGrants: {
    request: () => ({ path: "/admin/oauth/grants", query: [], headers: {} }),
    succeeded: async (response) =>
      expect(await bodyOf(response)).toMatchObject({ success: true, grants: expect.any(Array) }),
    upstream: NOTHING,
    audited: null,
  },
  revokeGrant: {
    // A grant of its own: a code's middle part is its grant's id (`owner:<grant>:<secret>`).
    setup: async (c) => {
      grantsOf.set(c.user, (await authorizationCode("read")).code.split(":")[1] ?? "");
    },
    request: (c) => ({
      path: `/admin/oauth/grants/${grantsOf.get(c.user) ?? "AAAAAAAAAAAAAAAA"}/revoke`,
      query: [],
      headers: {},
    }),
    succeeded: async (response, c) =>
      expect(await bodyOf(response)).toMatchObject({
        success: true,
        grant: { id: grantsOf.get(c.user), scopes: ["read"] },
      }),
    upstream: NOTHING,
    audited: null,
  },
  usage: {
    request: (_, variant) => ({
      path: "/admin/usage",
      query: [
        ["from", "2026-01-01"],
        ["to", "2026-12-31"],
        ["group_by", ["day", "subject", "model", "day,model", "day,subject"][variant % 5] as string],
      ],
      headers: {},
    }),
    succeeded: async (response) =>
      expect(await bodyOf(response)).toMatchObject({ success: true, rows: expect.any(Array) }),
    upstream: NOTHING,
    audited: null,
  },
  libraryUpload: {
    request: (c) => ({
      path: `/admin/library/${c.key}`,
      query: [],
      headers: {
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Length": "11",
        "X-Library-Sku": "EBOOK",
        "X-Library-Title": "Upload%20notes",
      },
      text: "notes here!",
    }),
    succeeded: async (response, c) => {
      expect(await bodyOf(response)).toMatchObject({ success: true, item: { key: c.key } });
      expect(await (await env.LIBRARY.get(c.key))?.text()).toBe("notes here!");
    },
    upstream: NOTHING,
    audited: { actor: "admin", action: "library_put", target: "library" },
  },
  mcp: {
    request: (_, variant) => ({ path: "/mcp", query: [], headers: MCP_HEADERS, body: mcpBody(variant) }),
    succeeded: async (response) =>
      expect(await bodyOf(response)).toMatchObject({
        jsonrpc: "2.0",
        id: 1,
        result: { structuredContent: { pull_requests: [{ number: 1 }, { number: 2 }], has_more: true } },
      }),
    upstream: { openai: 0, github: 1 },
    audited: null,
  },
  authorizationServerMetadata: discovery("/.well-known/oauth-authorization-server", "issuer"),
  protectedResourceMetadata: discovery("/.well-known/oauth-protected-resource/mcp", "resource"),
  protectedResourceMetadataRoot: discovery("/.well-known/oauth-protected-resource", "resource"),
  register: {
    request: (c) => ({
      path: "/oauth/register",
      query: [],
      headers: JSON_TYPE,
      body: {
        client_name: `Client ${c.user}`,
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
      },
    }),
    succeeded: async (response, c) =>
      expect(await bodyOf(response)).toMatchObject({ client_id: expect.any(String), client_name: `Client ${c.user}` }),
    upstream: NOTHING,
    audited: null,
  },
  token: {
    // A code for variant 0; a refresh token (rotated, but valid until its replacement is used) for the rest.
    setup: async (c) => {
      const { clientId, verifier, code } = await authorizationCode();
      const refresh = await issuedTokens();
      oauthState.set(c.user, {
        clientId,
        verifier,
        code,
        refreshToken: refresh.refreshToken,
        refreshClientId: refresh.clientId,
      });
    },
    request: (c, variant) => {
      const state = oauthOf(c);
      const fields: Record<string, string> =
        variant % VARIANTS === 0
          ? {
              grant_type: "authorization_code",
              code: state.code,
              code_verifier: state.verifier,
              client_id: state.clientId,
              redirect_uri: REDIRECT_URI,
            }
          : { grant_type: "refresh_token", refresh_token: state.refreshToken, client_id: state.refreshClientId };
      return { path: "/oauth/token", query: [], headers: FORM_TYPE, text: new URLSearchParams(fields).toString() };
    },
    succeeded: async (response) =>
      expect(await bodyOf(response)).toMatchObject({ token_type: "bearer", access_token: expect.any(String) }),
    upstream: NOTHING,
    audited: null,
  },
  consent: {
    setup: async (c) => {
      consentState.set(c.user, { clientId: await registerClient(), forms: [] });
    },
    request: (c) => ({
      path: "/authorize",
      query: [
        ...new URLSearchParams(authorizeQuery(consentOf(c).clientId, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")),
      ],
      headers: {},
    }),
    succeeded: async (response) => expect(await response.text()).toContain("Allow Test client to use Kora"),
    upstream: NOTHING,
    audited: null,
  },
  approve: {
    // One consent form per variant: a decision uses its form up.
    setup: async (c) => {
      const clientId = await registerClient();
      const { challenge } = await pkcePair();
      const forms = [];
      for (let variant = 0; variant < VARIANTS; variant++)
        forms.push(await openConsent(authorizeQuery(clientId, challenge)));
      consentState.set(c.user, { clientId, forms });
    },
    request: (c, variant) => {
      const form = consentOf(c).forms[variant % VARIANTS] ?? { handle: "", cookie: "" };
      const fields = { handle: form.handle, access: variant % 2 ? "read" : "write", decision: "approve" };
      return {
        path: "/authorize",
        query: [],
        headers: { ...FORM_TYPE, Cookie: form.cookie },
        text: new URLSearchParams(fields).toString(),
        formCredential: "admin_token",
      };
    },
    succeeded: async (response) =>
      expect(response.headers.get("Location")).toMatch(/^https:\/\/client\.test\/callback\?code=[^&]+&state=/),
    upstream: NOTHING,
    audited: null,
    redirects: true,
    ownOriginOnly: true,
  },
  console: {
    request: () => ({ path: "/admin", query: [], headers: {} }),
    succeeded: async (response) => {
      expect(response.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
      expect(await response.text()).toContain('<script type="module" src="/admin/console/app.js">');
    },
    upstream: NOTHING,
    audited: null,
    cache: "no-cache",
  },
  consoleFile: {
    request: (_, variant) => ({ path: `/admin/console/app.${variant % 2 ? "css" : "js"}`, query: [], headers: {} }),
    succeeded: async (response) => {
      expect(response.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
      await response.body?.cancel();
    },
    upstream: NOTHING,
    audited: null,
    cache: "no-cache",
  },
};

/**
 * A request with its credential where the route reads it: a route with `formCredential` takes the bearer
 * token of `headers` as that form field (and no Authorization header), every other route the headers as they are.
 */
export function credentialIntoForm(
  request: ValidRequest,
  headers: Record<string, string>,
  body: string | undefined,
): { headers: Record<string, string>; body: string | undefined } {
  if (request.formCredential === undefined) return { headers, body };
  const rest = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== "authorization"));
  const authorization = Object.entries(headers).find(([name]) => name.toLowerCase() === "authorization")?.[1];
  const token = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
  const form = new URLSearchParams(body ?? "");
  if (token !== undefined) form.set(request.formCredential, token);
  return { headers: rest, body: form.toString() };
}

/**
 * The route's own credential, for a request about `subject` (a webhook's signature is made over the final
 * body by the caller). Policies with a choice take it by `variant`: the relay secret as a bearer token or
 * `X-Relay-Secret`, the admin or the user on the check, with or without a token on the payment links.
 */
export async function rightCredential(
  policy: AuthPolicy,
  subject: string,
  variant = 0,
): Promise<Record<string, string>> {
  switch (policy) {
    case "relay-secret":
    case "trigger-credential":
    case "chat-credential":
      return variant % 2 ? { "X-Relay-Secret": RELAY_SECRET } : { Authorization: `Bearer ${RELAY_SECRET}` };
    case "chatgpt-token":
      return { Authorization: `Bearer ${CHATGPT_BEARER_TOKEN}` };
    case "admin":
      return { Authorization: `Bearer ${ADMIN_TOKEN}` };
    case "user-jwt":
      return { Authorization: `Bearer ${await userJwt(subject)}` };
    case "admin-or-user-jwt":
      return { Authorization: `Bearer ${variant % 4 < 2 ? await userJwt(subject) : ADMIN_TOKEN}` };
    case "optional-user-jwt":
      return variant % 4 < 2 ? { Authorization: `Bearer ${await userJwt(subject)}` } : {};
    case "mcp-token":
      return { Authorization: `Bearer ${CHATGPT_BEARER_TOKEN}` };
    case "admin-form":
      // Typed into the consent form: credentialIntoForm moves it there.
      return { Authorization: `Bearer ${ADMIN_TOKEN}` };
    default:
      return {};
  }
}

/** The URL path and query of a valid request. */
export function targetOf(request: ValidRequest): string {
  const search = new URLSearchParams(request.query).toString();
  return search === "" ? request.path : `${request.path}?${search}`;
}

/** The body of a valid request as text (JSON serialised), or undefined when it has none. */
export function bodyTextOf(request: ValidRequest): string | undefined {
  if (request.text !== undefined) return request.text;
  return request.body === undefined ? undefined : JSON.stringify(request.body);
}
