import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AuthPolicy, RouteSpec } from "../../src/middleware/guard";
import { ROUTES, type RouteName } from "../../src/routes";
import {
  ADMIN_TOKEN,
  CHATGPT_BEARER_TOKEN,
  PAYMENT_WEBHOOK_SECRET,
  RELAY_SECRET,
  STRIPE_WEBHOOK_SECRET,
} from "../secrets";
import { hubSignature } from "../support/dispatches";
import { paymentHeaders, stripeSignature, unsecuredJwt, userJwt } from "../support/ledger";
import { issuedTokens } from "../support/oauth";
import { auditRowsOf, githubScenario, openaiScenario, relay, uniqueId, uniqueIp } from "../support/relay";
import {
  bodyTextOf,
  credentialIntoForm,
  newContext,
  type RequestContext,
  type RouteExample,
  targetOf,
  VALID_REQUESTS,
} from "../support/valid-requests";

/**
 * The auth matrix: every route of `ROUTES` × every credential below, with the outcome its declared auth
 * policy must give. The expectations are a literal table per policy (`EXPECTED`), never computed from the
 * code under test; each route's valid request comes from test/support/valid-requests.ts.
 *
 * A refused request must answer the policy's status in the exact error shape, reach no upstream (each case
 * gets its own OpenAI and GitHub stand-in scenarios) and change no storage (ledger rows of the case's own
 * user, its R2 key); the audited routes write exactly one audit row, `refused:<code>`, on purpose.
 */

/** Everything one case owns: its request context, and stand-in scenarios of its own. */
type Case = RequestContext & {
  openai: ReturnType<typeof openaiScenario>;
  github: ReturnType<typeof githubScenario>;
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

/** One OAuth access token (read and write) for /mcp, issued once for the whole matrix. */
let oauthToken: Promise<string> | undefined;
const oauthAccessToken = () => {
  oauthToken ??= issuedTokens("write").then((tokens) => tokens.accessToken);
  return oauthToken;
};

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
  oauth: {
    label: "an OAuth access token for /mcp (read and write)",
    headers: async () => bearer(await oauthAccessToken()),
  },
  wrongGithub: {
    label: "an X-Hub-Signature-256 made with another secret",
    headers: async (_, body) => ({ "X-Hub-Signature-256": await hubSignature(body, "another-webhook-secret") }),
  },
  github: {
    label: "a valid X-Hub-Signature-256 (GITHUB_WEBHOOK_SECRET)",
    headers: async (_, body) => ({ "X-Hub-Signature-256": await hubSignature(body) }),
  },
} as const satisfies Record<string, CredentialSpec>;
type Credential = keyof typeof CREDENTIALS;

type Refusal = { status: 400 | 401 | 403; code: string };
/** "ok": 2xx with the fixture's success; "other-user": the fixture's `asOtherUser`; else a refusal. */
type Expectation = "ok" | "other-user" | Refusal;

/** OpenAI's error `type` of each refusal status (https://platform.openai.com/docs/guides/error-codes). */
const OPENAI_TYPES = { 400: "invalid_request_error", 401: "authentication_error", 403: "permission_error" } as const;

const OK = "ok";
const E401: Refusal = { status: 401, code: "unauthorized" };
const E400: Refusal = { status: 400, code: "invalid_signature" };
const E403: Refusal = { status: 403, code: "user_mismatch" };

/**
 * What each policy answers each credential (docs/api.md, "Conventions" and the endpoints): token and JWT
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
    oauth: OK,
    webhook: OK,
    wrongGithub: OK,
    github: OK,
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
    oauth: E401,
    webhook: E401,
    wrongGithub: E401,
    github: E401,
  },
  // RELAY_SECRET, or a relay key with the trigger scope (none here: src/features/trigger/keys.test.ts covers them).
  "trigger-credential": {
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
    oauth: E401,
    webhook: E401,
    wrongGithub: E401,
    github: E401,
  },
  // RELAY_SECRET, or a relay key (none here: the keys' own suite covers them); a user JWT only with
  // CHAT_USER_JWT=true, which this suite leaves off, so it is a wrong relay secret.
  "chat-credential": {
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
    oauth: E401,
    webhook: E401,
    wrongGithub: E401,
    github: E401,
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
    oauth: E401,
    webhook: E401,
    wrongGithub: E401,
    github: E401,
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
    oauth: E401,
    webhook: E401,
    wrongGithub: E401,
    github: E401,
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
    oauth: E401,
    webhook: E401,
    wrongGithub: E401,
    github: E401,
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
    oauth: E401,
    webhook: E401,
    wrongGithub: E401,
    github: E401,
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
    oauth: E401,
    webhook: OK,
    wrongGithub: OK,
    github: OK,
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
    oauth: E400,
    webhook: E400,
    wrongGithub: E400,
    github: E400,
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
    oauth: E400,
    webhook: OK,
    wrongGithub: E400,
    github: E400,
  },
  "mcp-token": {
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
    oauth: OK,
    webhook: E401,
    wrongGithub: E401,
    github: E401,
  },
  // The token endpoint reads its credential from the form (a code and its verifier, a refresh token): a
  // header credential of any kind is none to it, and the form's credential is the right one in every case.
  "oauth-client": {
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
    oauth: OK,
    webhook: OK,
    wrongGithub: OK,
    github: OK,
  },
  // The consent form: the credential is what is typed into its ADMIN_TOKEN field (credentialIntoForm).
  "admin-form": {
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
    oauth: E401,
    webhook: E401,
    wrongGithub: E401,
    github: E401,
  },
  // GitHub's webhook: only a signature over the body with GITHUB_WEBHOOK_SECRET (src/features/dispatches).
  "github-signature": {
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
    oauth: E400,
    webhook: E400,
    wrongGithub: E400,
    github: OK,
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
  return { ...newContext(), openai: openaiScenario("ok"), github: githubScenario("ok") };
}

/** The request path must be one the route's declaration matches (`*` any rest, `:name` one segment). */
function matchesSpec(spec: RouteSpec, path: string): boolean {
  const { pathname } = new URL(path, "https://relay.test");
  const pattern = spec.path.replace(/\*$/, ".*").replace(/:\w+/g, "[^/]+");
  return new RegExp(`^${pattern}$`).test(pathname);
}

async function attempt(spec: RouteSpec, example: RouteExample, credential: Credential) {
  const c = newCase();
  await example.setup?.(c);
  const before = await storageOf(c);
  const request = example.request(c, 0);
  expect(matchesSpec(spec, request.path)).toBe(true);
  const withCredential = credentialIntoForm(
    request,
    {
      "CF-Connecting-IP": uniqueIp(),
      ...request.headers,
      ...(await CREDENTIALS[credential].headers(c, bodyTextOf(request) ?? "")),
    },
    bodyTextOf(request),
  );
  const response = await relay(
    targetOf(request),
    { method: spec.method, headers: withCredential.headers, body: withCredential.body, redirect: "manual" },
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
  it("has a valid request for every route of ROUTES and none for a route that is not there", () => {
    expect(Object.keys(VALID_REQUESTS).sort()).toEqual([...routeNames].sort());
  });

  it("has an expectation for every policy in use and every credential, and a right credential per route", () => {
    for (const name of routeNames) {
      const row = EXPECTED[ROUTES[name].auth];
      expect(Object.keys(row).sort(), name).toEqual([...credentialNames].sort());
      expect(Object.values(row), `${name} has no credential that succeeds`).toContain(OK);
      if (Object.values(row).includes("other-user")) expect(VALID_REQUESTS[name].asOtherUser, name).toBeDefined();
    }
  });
});

for (const name of routeNames) {
  const spec: RouteSpec = ROUTES[name];
  // Each case owns its user, IP, stand-in scenarios and storage, so the cases of a route run at once: the
  // matrix waits on I/O (D1, Durable Objects, stand-ins), and this takes it from about a minute to 20 s.
  describe.concurrent(`auth matrix: ${spec.method} ${spec.path} (${spec.auth})`, () => {
    for (const credential of credentialNames) {
      const expectation = EXPECTED[spec.auth][credential];
      it(`${CREDENTIALS[credential].label} → ${describeExpectation(expectation)}`, async () => {
        const example = VALID_REQUESTS[name];
        const { c, before, response } = await attempt(spec, example, credential);

        if (expectation === "ok") {
          expect(response.status, await response.clone().text()).toBeGreaterThanOrEqual(200);
          expect(response.status).toBeLessThan(example.redirects ? 303 : 300);
          await example.succeeded(response, c);
          expect(await c.openai.received()).toHaveLength(example.upstream.openai);
          expect(await c.github.received()).toHaveLength(example.upstream.github);
          if (example.audited) expect(await auditRowsOf(response)).toMatchObject([{ outcome: "ok" }]);
          return;
        }

        if (expectation === "other-user") {
          await example.asOtherUser?.(response);
        } else {
          expect(response.status).toBe(expectation.status);
          if (spec.errors === "html") {
            // The consent page's refusal is a page for a person, with the page's policy and nothing typed echoed.
            expect(response.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
            expect(response.headers.get("Content-Security-Policy")).toMatch(/^default-src 'none'; /);
            expect(await response.text()).not.toMatch(/test-(?:admin|chatgpt|relay)-token|secret/);
          } else {
            // Exactly the error shape: no other key, a code, a human sentence; under /v1 OpenAI's, with its type.
            const body = await response.json();
            expect(body).toEqual(
              spec.path.startsWith("/v1/")
                ? {
                    error: {
                      message: expect.any(String),
                      type: OPENAI_TYPES[expectation.status],
                      param: null,
                      code: expectation.code,
                    },
                  }
                : { success: false, error: { code: expectation.code, message: expect.any(String) } },
            );
          }
          if (expectation.status === 401 && spec.auth === "mcp-token") {
            // The challenge also says where OAuth discovery starts (RFC 9728 §5.1).
            expect(response.headers.get("WWW-Authenticate")).toBe(
              'Bearer realm="relay", resource_metadata="https://relay.test/.well-known/oauth-protected-resource/mcp", scope="read write"',
            );
          } else if (expectation.status === 401 && spec.errors !== "html") {
            expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="relay"');
          }
          const audit = example.audited
            ? [{ ...example.audited, outcome: `refused:${expectation.code}`, dry_run: 0 }]
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
