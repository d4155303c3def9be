import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FAR, stored } from "../../src/features/library/test-support";
import { type AuthPolicy, ROUTES, type RouteName, type RouteSpec } from "../../src/routes";
import {
  auditRowsOf,
  CHATGPT_BEARER_TOKEN,
  githubScenario,
  openaiScenario,
  RELAY_SECRET,
  relay,
  uniqueId,
  uniqueIp,
} from "../helpers";
import {
  ADMIN_TOKEN,
  grant,
  PAYMENT_WEBHOOK_SECRET,
  paymentHeaders,
  STRIPE_WEBHOOK_SECRET,
  stripeEvent,
  stripeSignature,
  unsecuredJwt,
  userJwt,
} from "../ledger-helpers";

/**
 * The auth matrix (issue 6): every route of `ROUTES` × every credential below, with the outcome its declared
 * auth policy must give. The expectations are a literal table per policy (`EXPECTED`), never computed from
 * the code under test; each route needs a fixture (`FIXTURES`, typed `Record<RouteName, …>`), so a route
 * added to the table without one fails the type check and the completeness test below.
 *
 * A refused request must answer the policy's status in the exact error shape, reach no upstream (each case
 * gets its own OpenAI and GitHub stand-in scenarios) and change no storage (ledger rows of the case's own
 * user, its R2 key); the audited routes write exactly one audit row, `refused:<code>`, on purpose.
 */

/** Everything one case owns, so that cases running at once never share a user, a key or a scenario. */
type Case = {
  user: string;
  otherUser: string;
  /** An R2 key nothing else uses. */
  key: string;
  /** The webhook event id of this case. */
  eventId: string;
  openai: ReturnType<typeof openaiScenario>;
  github: ReturnType<typeof githubScenario>;
};

type RequestFixture = { path: string; body?: string; headers?: Record<string, string> };

type Fixture = {
  /** Runs before the request in every case (for example a grant that a revocation needs). */
  setup?: (c: Case) => Promise<void>;
  /** A valid, minimal request: with the right credential it succeeds. */
  request: (c: Case) => RequestFixture;
  /** What a success must show beyond its 2xx status. */
  succeeded: (response: Response, c: Case) => Promise<void>;
  /** How many requests one success sends to each stand-in. */
  upstream: { openai: number; github: number };
  /** The audit row every attempt writes, refusals included (target as known before the body is read). */
  audited: { actor: string; action: string; target: string } | null;
  /** `user-jwt` routes: the answer to a valid token of a user who holds nothing (the token's sub is the user). */
  asOtherUser?: (response: Response) => Promise<void>;
};

const json = (value: unknown) => JSON.stringify(value);
const JSON_TYPE = { "Content-Type": "application/json" };

async function bodyOf(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

// One library item, uploaded once for the two read routes: subscribers of any tier may read it.
const ITEM_DIR = uniqueId("auth-matrix");
const ITEM_KEY = `${ITEM_DIR}/item.txt`;
let itemStored: Promise<void> | undefined;
async function withItemAndSubscription(c: Case): Promise<void> {
  itemStored ??= stored(ITEM_KEY, "matrix item", { "X-Library-Tier": "monthly" });
  await itemStored;
  expect((await grant({ user_id: c.user, type: "subscription", tier: "monthly", expires_at: FAR })).status).toBe(200);
}

const chatFixture = (path: string): Fixture => ({
  request: () => ({ path, body: json({ messages: [{ role: "user", content: "Hi" }] }), headers: JSON_TYPE }),
  succeeded: async (response) => expect(await bodyOf(response)).toMatchObject({ object: "chat.completion" }),
  upstream: { openai: 1, github: 0 },
  audited: null,
});

const connectorFixture = (path: string, extra: Record<string, unknown>, action: string | null): Fixture => ({
  request: () => ({ path, body: json({ owner: "octo", repo: "hivemind", ...extra }), headers: JSON_TYPE }),
  succeeded: async (response) => expect(await bodyOf(response)).toMatchObject({ success: true }),
  upstream: { openai: 0, github: 1 },
  audited: action === null ? null : { actor: "chatgpt", action, target: "unknown" },
});

const checkoutOf = (c: Case) =>
  stripeEvent(c.eventId, "checkout.session.completed", {
    id: uniqueId("cs"),
    object: "checkout.session",
    mode: "payment",
    payment_status: "paid",
    client_reference_id: c.user,
    customer: uniqueId("cus"),
    subscription: null,
    payment_intent: uniqueId("pi"),
    metadata: { sku: "EBOOK" },
  });

async function expectPurchase(c: Case, revoked: boolean) {
  const { results } = await env.DB.prepare(
    "SELECT sku, revoked_at FROM entitlements WHERE user_id = ? AND kind = 'purchase'",
  )
    .bind(c.user)
    .all<{ sku: string; revoked_at: string | null }>();
  expect(results.map((row) => ({ sku: row.sku, revoked: row.revoked_at !== null }))).toEqual([
    { sku: "EBOOK", revoked },
  ]);
}

/** One valid request per route. `Record<RouteName, Fixture>`: a new route without a fixture does not compile. */
const FIXTURES: Record<RouteName, Fixture> = {
  health: {
    request: () => ({ path: "/relay/health" }),
    succeeded: async (response) => expect(await response.json()).toEqual({ status: "ok" }),
    upstream: { openai: 0, github: 0 },
    audited: null,
  },
  chat: chatFixture("/relay/openai/chat"),
  chatCompletions: chatFixture("/v1/chat/completions"),
  dispatch: connectorFixture("/chatgpt/dispatch", {}, "dispatch"),
  listPulls: connectorFixture("/chatgpt/prs/list", {}, null),
  comment: connectorFixture("/chatgpt/prs/comment", { pull_number: 5, body: "Looks good" }, "comment"),
  label: connectorFixture("/chatgpt/prs/label", { pull_number: 5, labels: ["kora"] }, "label"),
  openapi: {
    request: () => ({ path: "/openapi.json" }),
    succeeded: async (response) => expect(await bodyOf(response)).toMatchObject({ openapi: "3.1.0" }),
    upstream: { openai: 0, github: 0 },
    audited: null,
  },
  trigger: {
    request: () => ({ path: "/trigger-hive", body: json({ action: "execute" }), headers: JSON_TYPE }),
    succeeded: async (response) => {
      expect(await bodyOf(response)).toMatchObject({ success: true, dispatched: true });
      expect(await auditRowsOf(response)).toMatchObject([{ action: "trigger", outcome: "ok" }]);
    },
    upstream: { openai: 0, github: 1 },
    audited: { actor: "operator", action: "trigger", target: "octo/hive" },
  },
  audit: {
    request: () => ({ path: "/admin/audit?limit=1" }),
    succeeded: async (response) => expect(await bodyOf(response)).toMatchObject({ success: true, records: [{}] }),
    upstream: { openai: 0, github: 0 },
    audited: null,
  },
  billingLink: {
    request: (c) => ({ path: `/billing/link?tier=monthly&user_id=${c.user}` }),
    succeeded: async (response, c) =>
      expect(await bodyOf(response)).toMatchObject({
        success: true,
        payment_link: `https://pay.test/monthly?client_reference_id=${c.user}`,
      }),
    upstream: { openai: 0, github: 0 },
    audited: null,
  },
  storeLink: {
    request: (c) => ({ path: `/store/link?sku=EBOOK&user_id=${c.user}` }),
    succeeded: async (response, c) =>
      expect(await bodyOf(response)).toMatchObject({
        success: true,
        payment_link: `https://pay.test/ebook?client_reference_id=${c.user}`,
      }),
    upstream: { openai: 0, github: 0 },
    audited: null,
  },
  check: {
    setup: async (c) => {
      expect((await grant({ user_id: c.user, type: "purchase", sku: "EBOOK" })).status).toBe(200);
    },
    request: (c) => ({ path: `/entitlements/check?user_id=${c.user}` }),
    succeeded: async (response, c) =>
      expect(await bodyOf(response)).toMatchObject({ success: true, user_id: c.user, has_access: true }),
    upstream: { openai: 0, github: 0 },
    audited: null,
  },
  grant: {
    request: (c) => ({
      path: "/entitlements/grant",
      body: json({ user_id: c.user, type: "purchase", sku: "EBOOK" }),
      headers: JSON_TYPE,
    }),
    succeeded: async (response, c) => {
      expect(await bodyOf(response)).toMatchObject({ success: true, user_id: c.user });
      await expectPurchase(c, false);
    },
    upstream: { openai: 0, github: 0 },
    audited: null,
  },
  revoke: {
    // Something to revoke in every case, so that a refusal would have had something to change.
    setup: async (c) => {
      expect((await grant({ user_id: c.user, type: "purchase", sku: "EBOOK" })).status).toBe(200);
    },
    request: (c) => ({
      path: "/entitlements/revoke",
      body: json({ user_id: c.user, type: "purchase", sku: "EBOOK", reason: "refund" }),
      headers: JSON_TYPE,
    }),
    succeeded: async (response, c) => {
      expect(await bodyOf(response)).toMatchObject({ success: true, user_id: c.user });
      await expectPurchase(c, true);
    },
    upstream: { openai: 0, github: 0 },
    audited: null,
  },
  history: {
    setup: async (c) => {
      expect((await grant({ user_id: c.user, type: "purchase", sku: "EBOOK" })).status).toBe(200);
    },
    request: (c) => ({ path: `/entitlements/history?user_id=${c.user}` }),
    succeeded: async (response, c) =>
      expect(await bodyOf(response)).toMatchObject({ success: true, user_id: c.user, events: [{ type: "grant" }] }),
    upstream: { openai: 0, github: 0 },
    audited: null,
  },
  stripeWebhook: {
    request: (c) => ({
      path: "/webhooks/stripe",
      body: json(checkoutOf(c)),
      headers: { "Content-Type": "application/json; charset=utf-8" },
    }),
    succeeded: async (response, c) => {
      expect(await response.json()).toEqual({ success: true, event_id: c.eventId, outcome: "applied" });
      await expectPurchase(c, false);
    },
    upstream: { openai: 0, github: 0 },
    audited: null,
  },
  paymentWebhook: {
    request: (c) => ({
      path: "/webhooks/payment",
      body: json({ type: "purchase.completed", user_id: c.user, sku: "EBOOK" }),
      headers: JSON_TYPE,
    }),
    succeeded: async (response, c) => {
      expect(await response.json()).toEqual({ success: true, event_id: c.eventId, outcome: "applied" });
      await expectPurchase(c, false);
    },
    upstream: { openai: 0, github: 0 },
    audited: null,
  },
  libraryList: {
    setup: withItemAndSubscription,
    request: () => ({ path: `/library?prefix=${ITEM_DIR}/` }),
    succeeded: async (response) =>
      expect(await bodyOf(response)).toMatchObject({ success: true, items: [{ key: ITEM_KEY }] }),
    upstream: { openai: 0, github: 0 },
    audited: null,
    asOtherUser: async (response) => {
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ success: true, items: [], next_cursor: null });
    },
  },
  libraryItem: {
    setup: withItemAndSubscription,
    request: () => ({ path: `/library/${ITEM_KEY}` }),
    succeeded: async (response) => expect(await response.text()).toBe("matrix item"),
    upstream: { openai: 0, github: 0 },
    audited: null,
    asOtherUser: async (response) => {
      expect(response.status).toBe(402);
      expect(await bodyOf(response)).toMatchObject({ success: false, error: { code: "payment_required" } });
    },
  },
  libraryUpload: {
    request: (c) => ({
      path: `/admin/library/${c.key}`,
      body: "uploaded by the matrix",
      headers: { "Content-Type": "text/plain", "Content-Length": "22", "X-Library-Tier": "monthly" },
    }),
    succeeded: async (response, c) => {
      expect(await bodyOf(response)).toMatchObject({ success: true, item: { key: c.key } });
      expect(await (await env.LIBRARY.get(c.key))?.text()).toBe("uploaded by the matrix");
    },
    upstream: { openai: 0, github: 0 },
    audited: { actor: "admin", action: "library_put", target: "library" },
  },
};

/** The credentials every route is tried with; `body` is the request body, which signatures cover. */
type CredentialSpec = {
  label: string;
  headers: (c: Case, body: string) => Promise<Record<string, string>>;
};

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const webhookOnly = (headers: Record<string, string>) => ({
  "webhook-id": headers["webhook-id"] ?? "",
  "webhook-timestamp": headers["webhook-timestamp"] ?? "",
  "webhook-signature": headers["webhook-signature"] ?? "",
});
const OTHER_JWT_KEY = "another-jwt-secret-0123456789abcdef";

const CREDENTIALS = {
  // No credential.
  none: { label: "no credential", headers: async () => ({}) },
  // Wrong credentials of every kind.
  wrongBearer: { label: "a wrong bearer token", headers: async () => bearer(`not-the-secret-${uniqueId()}`) },
  wrongRelayHeader: { label: "a wrong X-Relay-Secret", headers: async () => ({ "X-Relay-Secret": "not-the-secret" }) },
  forgedJwt: {
    label: "a user JWT signed with another key",
    headers: async (c) => bearer(await userJwt(c.user, { secret: OTHER_JWT_KEY })),
  },
  algNoneJwt: { label: "an unsecured (alg none) user JWT", headers: async (c) => bearer(unsecuredJwt(c.user)) },
  expiredJwt: {
    label: "an expired user JWT",
    headers: async (c) => bearer(await userJwt(c.user, { expiresAt: Math.floor(Date.now() / 1000) - 3600 })),
  },
  wrongStripe: {
    label: "a Stripe-Signature made with another secret",
    headers: async (_, body) => ({ "Stripe-Signature": await stripeSignature(body, { secret: "whsec_wrong" }) }),
  },
  wrongWebhook: {
    label: "Standard Webhooks headers made with another secret",
    headers: async (c, body) =>
      webhookOnly(paymentHeaders(c.eventId, body, { secret: "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY" })),
  },
  // Every valid credential of the relay: the right one for some routes, another route's for the rest.
  relayBearer: { label: "RELAY_SECRET as Bearer", headers: async () => bearer(RELAY_SECRET) },
  relayHeader: { label: "RELAY_SECRET as X-Relay-Secret", headers: async () => ({ "X-Relay-Secret": RELAY_SECRET }) },
  chatgpt: { label: "CHATGPT_BEARER_TOKEN", headers: async () => bearer(CHATGPT_BEARER_TOKEN) },
  admin: { label: "ADMIN_TOKEN", headers: async () => bearer(ADMIN_TOKEN) },
  userJwt: { label: "a user JWT of the user asked about", headers: async (c) => bearer(await userJwt(c.user)) },
  otherUserJwt: { label: "a user JWT of another user", headers: async (c) => bearer(await userJwt(c.otherUser)) },
  stripe: {
    label: "a valid Stripe-Signature (STRIPE_WEBHOOK_SECRET)",
    headers: async (_, body) => ({
      "Stripe-Signature": await stripeSignature(body, { secret: STRIPE_WEBHOOK_SECRET }),
    }),
  },
  webhook: {
    label: "valid Standard Webhooks headers (PAYMENT_WEBHOOK_SECRET)",
    headers: async (c, body) => webhookOnly(paymentHeaders(c.eventId, body, { secret: PAYMENT_WEBHOOK_SECRET })),
  },
} as const satisfies Record<string, CredentialSpec>;
type Credential = keyof typeof CREDENTIALS;

type Refusal = { status: 400 | 401 | 403; code: string };
/** "ok": 2xx with the fixture's success; "other-user": the fixture's `asOtherUser`; else a refusal. */
type Expectation = "ok" | "other-user" | Refusal;

const OK = "ok";
const E401: Refusal = { status: 401, code: "unauthorized" };
const E400: Refusal = { status: 400, code: "invalid_signature" };
const E403: Refusal = { status: 403, code: "user_mismatch" };

/**
 * What each policy answers each credential (DESIGN.md, "Conventions" and the endpoints): token and JWT
 * policies 401; signature policies 400 `invalid_signature`; a JWT naming another user than the one asked
 * about 403; headers a policy does not read are no credential to it (a public route still answers).
 */
const EXPECTED: Record<AuthPolicy, Record<Credential, Expectation>> = {
  none: {
    none: OK,
    wrongBearer: OK,
    wrongRelayHeader: OK,
    forgedJwt: OK,
    algNoneJwt: OK,
    expiredJwt: OK,
    wrongStripe: OK,
    wrongWebhook: OK,
    relayBearer: OK,
    relayHeader: OK,
    chatgpt: OK,
    admin: OK,
    userJwt: OK,
    otherUserJwt: OK,
    stripe: OK,
    webhook: OK,
  },
  "relay-secret": {
    none: E401,
    wrongBearer: E401,
    wrongRelayHeader: E401,
    forgedJwt: E401,
    algNoneJwt: E401,
    expiredJwt: E401,
    wrongStripe: E401,
    wrongWebhook: E401,
    relayBearer: OK,
    relayHeader: OK,
    chatgpt: E401,
    admin: E401,
    userJwt: E401,
    otherUserJwt: E401,
    stripe: E401,
    webhook: E401,
  },
  "chatgpt-token": {
    none: E401,
    wrongBearer: E401,
    wrongRelayHeader: E401,
    forgedJwt: E401,
    algNoneJwt: E401,
    expiredJwt: E401,
    wrongStripe: E401,
    wrongWebhook: E401,
    relayBearer: E401,
    relayHeader: E401,
    chatgpt: OK,
    admin: E401,
    userJwt: E401,
    otherUserJwt: E401,
    stripe: E401,
    webhook: E401,
  },
  admin: {
    none: E401,
    wrongBearer: E401,
    wrongRelayHeader: E401,
    forgedJwt: E401,
    algNoneJwt: E401,
    expiredJwt: E401,
    wrongStripe: E401,
    wrongWebhook: E401,
    relayBearer: E401,
    relayHeader: E401,
    chatgpt: E401,
    admin: OK,
    userJwt: E401,
    otherUserJwt: E401,
    stripe: E401,
    webhook: E401,
  },
  "user-jwt": {
    none: E401,
    wrongBearer: E401,
    wrongRelayHeader: E401,
    forgedJwt: E401,
    algNoneJwt: E401,
    expiredJwt: E401,
    wrongStripe: E401,
    wrongWebhook: E401,
    relayBearer: E401,
    relayHeader: E401,
    chatgpt: E401,
    admin: E401,
    userJwt: OK,
    otherUserJwt: "other-user",
    stripe: E401,
    webhook: E401,
  },
  "admin-or-user-jwt": {
    none: E401,
    wrongBearer: E401,
    wrongRelayHeader: E401,
    forgedJwt: E401,
    algNoneJwt: E401,
    expiredJwt: E401,
    wrongStripe: E401,
    wrongWebhook: E401,
    relayBearer: E401,
    relayHeader: E401,
    chatgpt: E401,
    admin: OK,
    userJwt: OK,
    otherUserJwt: E403,
    stripe: E401,
    webhook: E401,
  },
  "optional-user-jwt": {
    none: OK,
    wrongBearer: E401,
    wrongRelayHeader: OK,
    forgedJwt: E401,
    algNoneJwt: E401,
    expiredJwt: E401,
    wrongStripe: OK,
    wrongWebhook: OK,
    relayBearer: E401,
    relayHeader: OK,
    chatgpt: E401,
    admin: E401,
    userJwt: OK,
    otherUserJwt: E403,
    stripe: OK,
    webhook: OK,
  },
  "stripe-signature": {
    none: E400,
    wrongBearer: E400,
    wrongRelayHeader: E400,
    forgedJwt: E400,
    algNoneJwt: E400,
    expiredJwt: E400,
    wrongStripe: E400,
    wrongWebhook: E400,
    relayBearer: E400,
    relayHeader: E400,
    chatgpt: E400,
    admin: E400,
    userJwt: E400,
    otherUserJwt: E400,
    stripe: OK,
    webhook: E400,
  },
  "standard-webhook": {
    none: E400,
    wrongBearer: E400,
    wrongRelayHeader: E400,
    forgedJwt: E400,
    algNoneJwt: E400,
    expiredJwt: E400,
    wrongStripe: E400,
    wrongWebhook: E400,
    relayBearer: E400,
    relayHeader: E400,
    chatgpt: E400,
    admin: E400,
    userJwt: E400,
    otherUserJwt: E400,
    stripe: E400,
    webhook: OK,
  },
};

const LEDGER_TABLES = ["ledger_events", "entitlements", "stripe_refs", "kv_imports"] as const;

/** Every stored row of the case's user and its R2 key: a refused request must leave all of it unchanged. */
async function storageOf(c: Case) {
  const rows: Record<string, unknown[]> = {};
  for (const table of LEDGER_TABLES) {
    rows[table] = (await env.DB.prepare(`SELECT * FROM ${table} WHERE user_id = ?`).bind(c.user).all()).results;
  }
  const object = await env.LIBRARY.head(c.key);
  return { ...rows, r2: object === null ? null : object.etag };
}

function newCase(): Case {
  return {
    user: uniqueId("am-user"),
    otherUser: uniqueId("am-other"),
    key: `${uniqueId("auth-matrix-upload")}/file.txt`,
    eventId: uniqueId("evt"),
    openai: openaiScenario("ok"),
    github: githubScenario("ok"),
  };
}

/** The request path must be one the route's declaration matches (a wildcard route: any path under it). */
function matchesSpec(spec: RouteSpec, path: string): boolean {
  const { pathname } = new URL(path, "https://relay.test");
  return spec.path.endsWith("/*") ? pathname.startsWith(spec.path.slice(0, -1)) : pathname === spec.path;
}

async function attempt(spec: RouteSpec, fixture: Fixture, credential: Credential) {
  const c = newCase();
  await fixture.setup?.(c);
  const before = await storageOf(c);
  const request = fixture.request(c);
  expect(matchesSpec(spec, request.path)).toBe(true);
  const headers = {
    "CF-Connecting-IP": uniqueIp(),
    ...request.headers,
    ...(await CREDENTIALS[credential].headers(c, request.body ?? "")),
  };
  const response = await relay(
    request.path,
    { method: spec.method, headers, body: request.body },
    { OPENAI_BASE_URL: c.openai.baseUrl, GITHUB_API_URL: c.github.apiUrl },
  );
  return { c, before, response };
}

function describeExpectation(expectation: Expectation): string {
  if (expectation === "ok") return "succeeds";
  if (expectation === "other-user") return "answers as for a user who holds nothing";
  return `${expectation.status} ${expectation.code}, nothing sent or stored`;
}

const routeNames = Object.keys(ROUTES) as RouteName[];
const credentialNames = Object.keys(CREDENTIALS) as Credential[];

describe("auth matrix: coverage", () => {
  it("has a fixture for every route of ROUTES and none for a route that is not there", () => {
    expect(Object.keys(FIXTURES).sort()).toEqual([...routeNames].sort());
    for (const name of routeNames) expect(FIXTURES[name], name).toBeDefined();
  });

  it("has an expectation for every policy in use and every credential, and a right credential per route", () => {
    for (const name of routeNames) {
      const row = EXPECTED[ROUTES[name].auth];
      expect(Object.keys(row).sort(), name).toEqual([...credentialNames].sort());
      expect(Object.values(row), `${name} has no credential that succeeds`).toContain(OK);
      if (Object.values(row).includes("other-user")) expect(FIXTURES[name].asOtherUser, name).toBeDefined();
    }
  });
});

for (const name of routeNames) {
  const spec: RouteSpec = ROUTES[name];
  describe(`auth matrix: ${spec.method} ${spec.path} (${spec.auth})`, () => {
    for (const credential of credentialNames) {
      const expectation = EXPECTED[spec.auth][credential];
      it(`${CREDENTIALS[credential].label} → ${describeExpectation(expectation)}`, async () => {
        const fixture = FIXTURES[name];
        const { c, before, response } = await attempt(spec, fixture, credential);

        if (expectation === "ok") {
          expect(response.status, await response.clone().text()).toBeGreaterThanOrEqual(200);
          expect(response.status).toBeLessThan(300);
          await fixture.succeeded(response, c);
          expect(await c.openai.received()).toHaveLength(fixture.upstream.openai);
          expect(await c.github.received()).toHaveLength(fixture.upstream.github);
          if (fixture.audited) expect(await auditRowsOf(response)).toMatchObject([{ outcome: "ok" }]);
          return;
        }

        if (expectation === "other-user") {
          await fixture.asOtherUser?.(response);
        } else {
          expect(response.status).toBe(expectation.status);
          // Exactly the error shape: no other key, a code, a human sentence.
          const body = await bodyOf(response);
          expect(body).toEqual({ success: false, error: { code: expectation.code, message: expect.any(String) } });
          if (expectation.status === 401) expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="relay"');
          const audit = fixture.audited
            ? [{ ...fixture.audited, outcome: `refused:${expectation.code}`, dry_run: 0 }]
            : [];
          expect(await auditRowsOf(response)).toEqual(audit);
        }
        // Nothing reached an upstream, nothing was stored.
        expect(await c.openai.received()).toEqual([]);
        expect(await c.github.received()).toEqual([]);
        expect(await storageOf(c)).toEqual(before);
      });
    }
  });
}
