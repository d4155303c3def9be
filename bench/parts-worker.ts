// The relay's per-request parts, each on its own: `GET /<part>?n=N` runs the part N times in one request, and
// bench/parts.ts times it from outside (workerd's clocks stand still while JavaScript runs, so a Worker cannot
// time its own code). The parts are the relay's own functions, bundled from src/.

import { Hono, type MiddlewareHandler } from "hono";
import { identifyCaller } from "../src/caller/identify";
import type { AppEnv } from "../src/env";
import { prepareChatRequest } from "../src/features/chat/prepare";
import { chatRequest } from "../src/features/chat/schema";
import { usageOfBody } from "../src/features/chat/usage";
import { hashSecret } from "../src/features/keys/secret";
import { modelConfig } from "../src/features/proxy/config";
import { app } from "../src/index";
import { recentSha256Hex, sha256Hex } from "../src/lib/constant-time";
import { Logger } from "../src/lib/log";
import { bearerToken, readJson } from "../src/lib/request";
import { admit } from "../src/metering/client";
import { demandOf } from "../src/metering/demand";
import type { Meter } from "../src/metering/durable-object";
import { PACKAGE_PRICES, priceOf, promptEstimate } from "../src/metering/prices";
import { originPolicy } from "../src/middleware/origin";
import { requestContext } from "../src/middleware/request-context";
import type { RateLimiter } from "../src/rate-limit/durable-object";

type PartsEnv = {
  METER: DurableObjectNamespace<Meter>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  FLOOD_GUARD: RateLimit;
};

const IP = "203.0.113.7";
const JSON_HEADERS = { "Content-Type": "application/json" };
const KEY = `smr_0123456789abcdef_${"A".repeat(43)}`;
const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello" }] });
const answer = new TextEncoder().encode(
  JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model: "gpt-4o-mini",
    choices: [{ index: 0, message: { role: "assistant", content: "Hi there" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
  }),
);
const config = modelConfig.parse({ OPENAI_API_KEY: "sk" });
const limits = { perMinute: 1_000_000, budget: { tokens: 1e15 }, queueMs: 0 };
const price = priceOf(PACKAGE_PRICES, "gpt-4o-mini");
const demand = demandOf(90, price, 1, 100);
const used = { model: "gpt-4o-mini", promptTokens: 1, completionTokens: 1, micros: 1, priced: true, estimated: false };
let previous: { id: string; tokens: number; slots: number } | undefined;

/** A Hono app answering `GET /` behind `middleware`: the fixed cost of each middleware, one rung at a time. */
function ladder(...middleware: MiddlewareHandler<AppEnv>[]): Hono<AppEnv> {
  const rung = new Hono<AppEnv>();
  for (const one of middleware) rung.use(one);
  rung.get("/", (c) => c.json({ status: "ok" }));
  return rung;
}
const SECRETS = { RELAY_SECRET: "bench-relay-secret", ADMIN_TOKEN: "bench-admin-token" };
const caller = identifyCaller({ relayHeader: true });
const rungs = {
  "Hono, one route, no middleware": ladder(),
  "+ request context (request id, IP hash, log line)": ladder(requestContext()),
  "+ origin policy (no Origin)": ladder(requestContext(), originPolicy()),
  "+ who is calling (no credential)": ladder(requestContext(), originPolicy(), caller),
};
const get = (headers: Record<string, string> = {}) =>
  new Request("http://relay/", { headers: { "CF-Connecting-IP": IP, ...headers } });

const parts: Record<string, (env: PartsEnv, ctx: ExecutionContext) => unknown> = {
  empty: () => undefined,
  ...Object.fromEntries(
    Object.entries(rungs).map(([name, rung]) => [
      name,
      (env: PartsEnv, ctx: ExecutionContext) => rung.fetch(get(), { ...env, ...SECRETS }, ctx),
    ]),
  ),
  "+ who is calling (RELAY_SECRET)": (env, ctx) =>
    rungs["+ who is calling (no credential)"].fetch(
      get({ Authorization: `Bearer ${SECRETS.RELAY_SECRET}` }),
      { ...env, ...SECRETS },
      ctx,
    ),
  "the relay: GET /relay/health": (env, ctx) =>
    app.fetch(new Request("http://relay/relay/health", { headers: { "CF-Connecting-IP": IP } }), env, ctx),
  "request id": () => crypto.randomUUID(),
  "IP hash (SHA-256)": () => sha256Hex(IP),
  "IP hash of a known IP (recentSha256Hex)": () => recentSha256Hex(IP),
  "log line": () => {
    const log = new Logger({ request_id: "r", method: "POST", ip_hash: "0123456789abcdef" });
    log.set({ model: "gpt-4o-mini", stream: false, caller: "key", upstream_status: 200 });
    log.flush({ route: "/v1/chat/completions", status: 200, ms: 1 });
  },
  "credential and key hash, first time (SHA-256)": () =>
    sha256Hex(bearerToken(new Headers({ Authorization: `Bearer ${KEY}` }).get("Authorization")) ?? ""),
  "credential and key hash of a known key": () =>
    hashSecret(bearerToken(new Headers({ Authorization: `Bearer ${KEY}` }).get("Authorization")) ?? ""),
  "body: read, parse, validate": () =>
    readJson(new Request("http://relay/", { method: "POST", body, headers: JSON_HEADERS }), chatRequest),
  "caps, prompt estimate, price": () => {
    const prepared = prepareChatRequest(JSON.parse(body), config);
    return demandOf(promptEstimate(prepared.request), price, prepared.choices, prepared.want);
  },
  "usage from a JSON answer": () => usageOfBody(answer, { model: "gpt-4o-mini", price, estimate: () => used }),
  "lease: admit and settle": async (env, ctx) => {
    const access = { meter: () => env.METER.getByName("parts"), waitUntil: (p: Promise<unknown>) => ctx.waitUntil(p) };
    const admission = await admit("parts", demand, limits, access);
    admission.settle(used);
  },
  "Meter call (a new lease, the last one reported)": async (env) => {
    const leaseId = crypto.randomUUID();
    const reports = previous
      ? [
          {
            leaseId: previous.id,
            settled: [],
            released: { tokens: previous.tokens, micros: 0 },
            unusedSlots: previous.slots,
          },
        ]
      : [];
    const result = await env.METER.getByName("parts-meter").acquire({
      subject: "parts-meter",
      leaseId,
      need: { tokens: 100, micros: 0 },
      least: { tokens: 16, micros: 0 },
      limits,
      reports,
    });
    if (!result.ok) throw new Error(result.refusal.refused);
    previous = { id: leaseId, tokens: result.lease.money.tokens ?? 0, slots: result.lease.slots };
  },
  "Meter read (snapshot)": (env) => env.METER.getByName("parts-meter").snapshot(),
  "RateLimiter call (per-IP limit)": (env) => env.RATE_LIMITER.getByName(IP).consume(1_000_000_000, 60_000),
  "FLOOD_GUARD.limit()": (env) => env.FLOOD_GUARD.limit({ key: IP }),
};

export default {
  async fetch(request: Request, env: PartsEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/") return Response.json(Object.keys(parts));
    const part = parts[decodeURIComponent(url.pathname.slice(1))];
    if (!part) return new Response("no such part", { status: 404 });
    const n = Number(url.searchParams.get("n") ?? 1);
    for (let i = 0; i < n; i++) await part(env, ctx);
    return new Response("ok");
  },
};
