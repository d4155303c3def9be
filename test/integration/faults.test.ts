import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { ROUTES, type RouteName } from "../../src/routes";
import {
  ADMIN_TOKEN,
  CHATGPT_BEARER_TOKEN,
  GITHUB_TOKEN,
  PAYMENT_WEBHOOK_SECRET,
  RELAY_SECRET,
  STRIPE_WEBHOOK_SECRET,
} from "../secrets";
import { auditOf, paymentHeaders, rowsOf, stripeEvent, stripeSignature } from "../support/ledger";
import {
  auditRowsOf,
  captureLogs,
  errorAt,
  errorBody,
  githubScenario,
  jsonHeaders,
  openaiError,
  openaiScenario,
  relay,
  uniqueId,
  uniqueIp,
} from "../support/relay";

/**
 * Fault injection through the stand-ins and a failing D1: an upstream that breaks off mid-stream,
 * answers too slowly, fails, times out or rate limits the relay; a database that fails during a webhook.
 * Every path and policy comes from `ROUTES`.
 */

/** Rejects when `promise` has not settled within `ms`: a hang fails the test instead of stalling it. */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a body to its end; `errored` tells whether it ended in an error rather than a clean close. */
async function drain(body: ReadableStream<Uint8Array>): Promise<{ text: string; errored: boolean }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (let part = await reader.read(); !part.done; part = await reader.read()) text += decoder.decode(part.value);
    return { text, errored: false };
  } catch {
    return { text, errored: true };
  }
}

const hello = { messages: [{ role: "user", content: "Hello" }] };
const CHAT_ROUTES = [ROUTES.chat, ROUTES.chatCompletions];

describe("faults: OpenAI breaks off mid-stream", () => {
  it.each(CHAT_ROUTES)(
    "$path: the client's stream ends in an error, never hangs, and the log says so",
    async ({ method, path }) => {
      const upstream = openaiScenario("cut-3");
      const { result, logs } = await captureLogs(async () => {
        const response = await relay(
          path,
          { method, headers: jsonHeaders(uniqueIp()), body: JSON.stringify({ ...hello, stream: true }) },
          { OPENAI_BASE_URL: upstream.baseUrl },
        );
        expect(response.status).toBe(200);
        return within(5000, drain(response.body as ReadableStream<Uint8Array>), "the client's stream");
      });
      expect(result.errored).toBe(true);
      expect(result.text).toContain("chunk2");
      expect(result.text).not.toContain("[DONE]");
      expect(logs).toContain('"msg":"chat answer ended: upstream_broke"');
      expect((await upstream.received()).map((r) => r.chunks_sent)).toEqual([3]);
    },
  );

  it("the openai SDK consuming the stream sees an error after the chunks that arrived", async () => {
    const upstream = openaiScenario("cut-3");
    const client = new OpenAI({
      apiKey: RELAY_SECRET,
      baseURL: `https://relay.test${ROUTES.chatCompletions.path.replace(/\/chat\/completions$/, "")}`,
      maxRetries: 0,
      fetch: (input, init) => {
        const url = new URL(input instanceof Request ? input.url : input);
        const headers = new Headers(init?.headers);
        headers.set("CF-Connecting-IP", uniqueIp());
        return relay(url.pathname, { ...init, headers }, { OPENAI_BASE_URL: upstream.baseUrl });
      },
    });
    const parts: string[] = [];
    const consume = async () => {
      const stream = await client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "Hello" }],
        stream: true,
      });
      for await (const chunk of stream) parts.push(chunk.choices[0]?.delta.content ?? "");
    };
    const { result: outcome, logs } = await captureLogs(() =>
      within(5000, consume(), "the SDK's stream").then(
        () => "completed",
        (error: unknown) => (error instanceof Error && error.message.includes("did not settle") ? "hung" : "errored"),
      ),
    );
    expect(outcome).toBe("errored");
    expect(parts).toEqual(["chunk0", " chunk1", " chunk2"]);
    expect(logs).toContain('"msg":"chat answer ended: upstream_broke"');
  });
});

describe("faults: slow OpenAI headers", () => {
  it.each(CHAT_ROUTES)("$path: 504 once OPENAI_TIMEOUT_MS has passed, not later", async ({ method, path }) => {
    const upstream = openaiScenario("slow-5000");
    const started = Date.now();
    const response = await within(
      3000,
      relay(
        path,
        { method, headers: jsonHeaders(uniqueIp()), body: JSON.stringify(hello) },
        {
          OPENAI_BASE_URL: upstream.baseUrl,
          OPENAI_TIMEOUT_MS: "250",
        },
      ),
      "the relay's answer",
    );
    const elapsed = Date.now() - started;
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual(
      errorAt(path, "upstream_timeout", "The OpenAI upstream did not answer within 250 ms"),
    );
    expect(elapsed).toBeGreaterThanOrEqual(240);
    expect(elapsed).toBeLessThan(1500);
    expect(await upstream.received()).toHaveLength(1);
  });

  it("a streamed request gets the same 504 when the stream's headers are late", async () => {
    const upstream = openaiScenario("slow-5000");
    const started = Date.now();
    const response = await relay(
      ROUTES.chatCompletions.path,
      { method: "POST", headers: jsonHeaders(uniqueIp()), body: JSON.stringify({ ...hello, stream: true }) },
      { OPENAI_BASE_URL: upstream.baseUrl, OPENAI_TIMEOUT_MS: "250" },
    );
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual(openaiError("upstream_timeout", undefined, null, "server_error"));
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("headers that arrive within OPENAI_TIMEOUT_MS are answered normally (the timeout is the configured one)", async () => {
    const upstream = openaiScenario("slow-300");
    const response = await relay(
      ROUTES.chatCompletions.path,
      { method: "POST", headers: jsonHeaders(uniqueIp()), body: JSON.stringify(hello) },
      { OPENAI_BASE_URL: upstream.baseUrl, OPENAI_TIMEOUT_MS: "3000" },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ object: "chat.completion" });
  });

  it("an upstream that resets the connection before answering is a 502 in the error shape", async () => {
    const upstream = openaiScenario("reset");
    const response = await relay(
      ROUTES.chat.path,
      { method: "POST", headers: jsonHeaders(uniqueIp()), body: JSON.stringify(hello) },
      { OPENAI_BASE_URL: upstream.baseUrl },
    );
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual(errorBody("upstream_unreachable"));
  });
});

/** The routes that write to GitHub, with a valid body, their credential and what the audit row names. */
type GitHubWrite = { body: unknown; token: string; actor: string; action: string; target: string };
const GITHUB_WRITES = {
  dispatch: {
    body: { owner: "octo", repo: "hivemind" },
    token: CHATGPT_BEARER_TOKEN,
    actor: "chatgpt",
    action: "dispatch",
    target: "octo/hivemind",
  },
  comment: {
    body: { owner: "octo", repo: "hivemind", pull_number: 5, body: "Looks good" },
    token: CHATGPT_BEARER_TOKEN,
    actor: "chatgpt",
    action: "comment",
    target: "octo/hivemind#5",
  },
  label: {
    body: { owner: "octo", repo: "hivemind", pull_number: 5, labels: ["kora"] },
    token: CHATGPT_BEARER_TOKEN,
    actor: "chatgpt",
    action: "label",
    target: "octo/hivemind#5",
  },
  trigger: {
    body: { action: "execute" },
    token: RELAY_SECRET,
    actor: "operator",
    action: "trigger",
    target: "octo/hive:execute",
  },
} satisfies Partial<Record<RouteName, GitHubWrite>>;
type GitHubWriteRoute = keyof typeof GITHUB_WRITES;
const githubWriteRoutes = Object.keys(GITHUB_WRITES) as GitHubWriteRoute[];

/** GitHub's faults and what the relay must make of them (docs/api.md, "Kora connector"). */
const GITHUB_FAULTS: Array<{ behaviour: string; status: number; code: string; retryAfter: [number, number] | null }> = [
  { behaviour: "status-500", status: 502, code: "upstream_unreachable", retryAfter: null },
  { behaviour: "status-502", status: 502, code: "upstream_unreachable", retryAfter: null },
  { behaviour: "status-503", status: 502, code: "upstream_unreachable", retryAfter: null },
  { behaviour: "reset", status: 502, code: "upstream_unreachable", retryAfter: null },
  { behaviour: "hang", status: 504, code: "upstream_timeout", retryAfter: null },
  { behaviour: "slow-5000", status: 504, code: "upstream_timeout", retryAfter: null },
  // Primary limit: 403 with x-ratelimit-remaining 0, reset 120 s from now.
  { behaviour: "ratelimit", status: 429, code: "upstream_rate_limited", retryAfter: [118, 120] },
  // Secondary limit: 403 with retry-after 30.
  { behaviour: "secondary", status: 429, code: "upstream_rate_limited", retryAfter: [30, 30] },
  { behaviour: "toomany", status: 429, code: "upstream_rate_limited", retryAfter: [17, 17] },
];

describe("faults: GitHub fails on every route that writes to it", () => {
  it("covers every route of ROUTES that writes to GitHub", () => {
    const writers = (Object.keys(ROUTES) as RouteName[]).filter((name) => {
      const spec = ROUTES[name];
      // /mcp's tools meet the same faults as tool errors: src/features/mcp/mcp.test.ts.
      const reads = name === "listPulls" || spec.method === "GET";
      return (spec.rateLimit === "connector" || spec.rateLimit === "trigger") && !reads && name !== "mcp";
    });
    expect(writers.sort()).toEqual([...githubWriteRoutes].sort());
  });

  describe.each(githubWriteRoutes)("%s", (name) => {
    const spec = ROUTES[name];
    const write: GitHubWrite = GITHUB_WRITES[name];
    // A dispatch is not lost to these faults: it is queued, answered 202, and the queue retries it
    // (src/features/dispatches/queue.test.ts follows it to GitHub).
    const queues = name === "dispatch" || name === "trigger";

    it.each(GITHUB_FAULTS)(
      "GitHub $behaviour → $status $code (a dispatch: 202 queued), one call, audited",
      async (fault) => {
        const github = githubScenario(fault.behaviour);
        const started = Date.now();
        const response = await within(
          3000,
          relay(
            spec.path,
            {
              method: spec.method,
              headers: jsonHeaders(uniqueIp(), { Authorization: `Bearer ${write.token}` }),
              body: JSON.stringify(write.body),
            },
            { GITHUB_API_URL: github.apiUrl, GITHUB_TIMEOUT_MS: "250" },
          ),
          "the relay's answer",
        );
        const elapsed = Date.now() - started;
        const text = await response.text();

        expect(response.status).toBe(queues ? 202 : fault.status);
        expect(JSON.parse(text)).toEqual(
          queues ? expect.objectContaining({ success: true, queued: true }) : errorBody(fault.code),
        );
        expect(text).not.toContain(GITHUB_TOKEN);
        if (fault.retryAfter === null || queues) {
          expect(response.headers.get("Retry-After")).toBeNull();
        } else {
          const seconds = Number(response.headers.get("Retry-After"));
          expect(seconds).toBeGreaterThanOrEqual(fault.retryAfter[0]);
          expect(seconds).toBeLessThanOrEqual(fault.retryAfter[1]);
        }
        if (fault.status === 504) {
          if (!queues) expect(JSON.parse(text).error.message).toBe("GitHub did not answer within 250 ms");
          expect(elapsed).toBeGreaterThanOrEqual(240);
          expect(elapsed).toBeLessThan(1500);
        }
        // Never retried while the client waits: a retried comment is a double comment.
        expect(await github.received()).toHaveLength(1);
        const outcome = queues ? "queued" : `failed:${fault.code}`;
        // The queue's own row (actor "queue") follows under the same id once it delivers.
        const rows = (await auditRowsOf(response)).filter((row) => row.actor !== "queue");
        expect(rows).toEqual([{ actor: write.actor, action: write.action, target: write.target, outcome, dry_run: 0 }]);
      },
    );
  });
});

/** How the database fails: an outage of every call, or a batch that fails part-way (after its writes ran). */
type DbFault = "batch-outage" | "batch-fails-midway" | "outage";

/**
 * `env.DB` with a fault. "batch-fails-midway" runs the real batch with one more statement that violates a
 * NOT NULL constraint, so the batch's own writes do execute and D1 must roll all of them back.
 * `batches` records the size of every batch attempted.
 */
function faultyDb(fault: DbFault, batches: number[]): D1Database {
  const real = env.DB;
  const outage = () => Promise.reject(new Error("D1_ERROR: Network connection lost."));
  const failing = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, property) {
        if (property === "bind") return (...values: unknown[]) => failing(target.bind(...values));
        if (property === "first" || property === "run" || property === "all" || property === "raw") return outage;
        return Reflect.get(target, property, target);
      },
    });
  return new Proxy(real, {
    get(target, property) {
      if (property === "batch") {
        return (statements: D1PreparedStatement[]) => {
          batches.push(statements.length);
          if (fault !== "batch-fails-midway") return outage();
          const violation = target.prepare(
            "INSERT INTO audit_log (at, actor, action, target, outcome) VALUES (NULL, 'fault', 'fault', 'fault', 'fault')",
          );
          return target.batch([...statements, violation]);
        };
      }
      if (property === "prepare" && fault === "outage") return (sql: string) => failing(target.prepare(sql));
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Sends a request with the test's env and `DB` replaced. */
async function relayWithDb(path: string, init: RequestInit, db: D1Database): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`https://relay.test${path}`, init), { ...env, DB: db }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** Imports the user from KV (an admin check does), so that the ledger's own batch is the first one. */
async function importUser(user: string): Promise<void> {
  const response = await relay(`${ROUTES.check.path}?user_id=${user}`, {
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "CF-Connecting-IP": uniqueIp() },
  });
  expect(response.status).toBe(200);
}

async function stripeRefsOf(user: string) {
  const { results } = await env.DB.prepare("SELECT kind FROM stripe_refs WHERE user_id = ? ORDER BY kind")
    .bind(user)
    .all<{ kind: string }>();
  return results.map((row) => row.kind);
}

async function expectNothingWritten(user: string) {
  expect(await rowsOf("ledger_events", user)).toEqual([]);
  expect(await rowsOf("purchases", user)).toEqual([]);
  expect(await rowsOf("subscriptions", user)).toEqual([]);
  expect(await stripeRefsOf(user)).toEqual([]);
  expect(await auditOf(user)).toEqual([]);
}

/** A 5xx the sender retries, in the error shape, naming nothing of the database. */
async function expectRetryableFailure(response: Response) {
  const text = await response.text();
  expect(response.status).toBeGreaterThanOrEqual(500);
  expect(JSON.parse(text)).toEqual(errorBody("internal_error", "Internal error"));
  for (const internal of ["D1", "SQL", "constraint", "audit_log", "ledger_events", "Network"]) {
    expect(text).not.toContain(internal);
  }
}

const DB_FAULTS: DbFault[] = ["outage", "batch-outage", "batch-fails-midway"];

describe("faults: D1 fails during a webhook", () => {
  describe.each(DB_FAULTS)("%s", (fault) => {
    it(`${ROUTES.paymentWebhook.path}: 5xx so the sender retries, nothing half-written; the retry applies once`, async () => {
      const user = uniqueId("fault-user");
      if (fault === "batch-fails-midway") await importUser(user);
      const id = uniqueId("msg");
      const body = JSON.stringify({ type: "purchase.completed", user_id: user, sku: "EBOOK" });
      const headers = paymentHeaders(id, body, { secret: PAYMENT_WEBHOOK_SECRET });
      const batches: number[] = [];

      const { result: failed, logs } = await captureLogs(() =>
        relayWithDb(ROUTES.paymentWebhook.path, { method: "POST", headers, body }, faultyDb(fault, batches)),
      );
      await expectRetryableFailure(failed);
      expect(logs).toContain('"msg":"unhandled error"');
      expect(logs).not.toContain(PAYMENT_WEBHOOK_SECRET);
      // Mid-way: the ledger's batch (event, state, audit) did run, and was rolled back entirely.
      if (fault === "batch-fails-midway") expect(batches).toEqual([3]);
      await expectNothingWritten(user);

      // The provider retries the same delivery; the database is back.
      const retried = await relay(ROUTES.paymentWebhook.path, { method: "POST", headers, body });
      expect(retried.status).toBe(200);
      expect(await retried.json()).toEqual({ success: true, event_id: id, outcome: "applied" });
      const again = await relay(ROUTES.paymentWebhook.path, { method: "POST", headers, body });
      expect(await again.json()).toEqual({ success: true, event_id: id, outcome: "duplicate" });
      expect(await rowsOf("ledger_events", user)).toMatchObject([{ type: "grant", sku: "EBOOK", source_event_id: id }]);
      expect(await rowsOf("purchases", user)).toMatchObject([{ sku: "EBOOK", revoked_at: null }]);
    });

    it(`${ROUTES.stripeWebhook.path}: 5xx so Stripe retries, nothing half-written; the retry applies once`, async () => {
      const user = uniqueId("fault-user");
      if (fault === "batch-fails-midway") await importUser(user);
      const event = stripeEvent(uniqueId("evt"), "checkout.session.completed", {
        id: uniqueId("cs"),
        object: "checkout.session",
        mode: "payment",
        payment_status: "paid",
        client_reference_id: user,
        customer: uniqueId("cus"),
        subscription: null,
        payment_intent: uniqueId("pi"),
        metadata: { sku: "EBOOK" },
      });
      const body = JSON.stringify(event);
      const headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": await stripeSignature(body, { secret: STRIPE_WEBHOOK_SECRET }),
      };
      const batches: number[] = [];

      const failed = await relayWithDb(
        ROUTES.stripeWebhook.path,
        { method: "POST", headers, body },
        faultyDb(fault, batches),
      );
      await expectRetryableFailure(failed);
      // Event, state, two Stripe id mappings (customer, payment intent) and the audit row: all rolled back.
      if (fault === "batch-fails-midway") expect(batches).toEqual([5]);
      await expectNothingWritten(user);

      const retried = await relay(ROUTES.stripeWebhook.path, { method: "POST", headers, body });
      expect(retried.status).toBe(200);
      expect(await retried.json()).toEqual({ success: true, event_id: event.id, outcome: "applied" });
      const again = await relay(ROUTES.stripeWebhook.path, { method: "POST", headers, body });
      expect(await again.json()).toEqual({ success: true, event_id: event.id, outcome: "duplicate" });
      expect(await rowsOf("ledger_events", user)).toMatchObject([{ type: "grant", sku: "EBOOK" }]);
      expect(await rowsOf("purchases", user)).toMatchObject([{ sku: "EBOOK", revoked_at: null }]);
      expect(await stripeRefsOf(user)).toEqual(["customer", "payment_intent"]);
    });
  });
});
