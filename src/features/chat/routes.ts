import { type Context, Hono } from "hono";
import type { AppEnv, Caller } from "../../env";
import { InvalidRequest } from "../../errors";
import { readConfig } from "../../lib/config";
import { readJson } from "../../lib/request";
import { type StreamEnd, watchStream } from "../../lib/watch-stream";
import { recordUsage } from "../../metering/client";
import { demandOf } from "../../metering/demand";
import { priceOf, promptEstimate } from "../../metering/prices";
import type { Usage } from "../../metering/state";
import { mount, type RouteSpec } from "../../middleware/guard";
import { MAX_UPSTREAM_BODY_BYTES, postChatCompletion } from "../../upstream/openai";
import { type Admitted, admitCaller, relaySecretAccess } from "./caller";
import { listModels } from "./models";
import { prepareChatRequest, withOutputCap } from "./prepare";
import { chatConfig, chatRequest, type MeteringConfig, meteringConfig } from "./schema";
import { estimatedUsage, type Produced, usageOf, usageOfBody, usageStream } from "./usage";

const chatRoute = (path: string): RouteSpec => ({
  method: "POST",
  path,
  auth: "chat-credential",
  rateLimit: "chat",
  body: "json",
});

/** The LLM relay: the original's path and the OpenAI SDK's paths answer the same way. */
export const chatRoutes = {
  chat: chatRoute("/relay/openai/chat"),
  chatCompletions: chatRoute("/v1/chat/completions"),
  models: { method: "GET", path: "/v1/models", auth: "chat-credential", rateLimit: "chat", body: null },
} as const satisfies Record<string, RouteSpec>;

export const chat = new Hono<AppEnv>();

/** How the log line names a chat caller. */
const LOGGED_KIND: Partial<Record<Caller["kind"], string>> = {
  "relay-key": "key",
  "user-jwt": "user",
  "relay-secret": "relay-secret",
};

/** Where a request's usage goes: its admission at the Meter, or RELAY_SECRET's batched report. */
function usageRecorder(c: Context<AppEnv>, caller: Admitted, metering: MeteringConfig) {
  return (used: Usage) => {
    if (caller.admission) caller.admission.settle(used);
    else {
      const limits = { perMinute: metering.RATE_LIMIT_REQUESTS, budget: {}, queueMs: 0 };
      recordUsage(caller.subject, used, limits, relaySecretAccess(c));
    }
  };
}

for (const spec of [chatRoutes.chat, chatRoutes.chatCompletions]) {
  mount(chat, spec, async (c) => {
    const config = readConfig(c.env, chatConfig);
    const metering = readConfig(c.env, meteringConfig);
    const prepared = prepareChatRequest(await readJson(c.req.raw, chatRequest), config);
    const { model } = prepared.request;
    const price = priceOf(metering.MODEL_PRICES, model);
    const promptTokens = promptEstimate(prepared.request);
    const demand = demandOf(promptTokens, price, prepared.choices, prepared.want);
    const admitted = await admitCaller(c, demand, metering);
    const { admission } = admitted;
    if (admission?.key?.models && !admission.key.models.includes(model)) {
      admission.release();
      throw new InvalidRequest(`model: "${model}" is not one of this relay key's models`, "model_not_allowed");
    }
    if (admission?.costBudgeted && price === undefined) {
      admission.release();
      throw new InvalidRequest(
        `model: "${model}" has no price in MODEL_PRICES to meter a cost budget`,
        "model_not_priced",
      );
    }
    if (admission && admission.waitMs > 0) await new Promise((resolve) => setTimeout(resolve, admission.waitMs));

    const log = c.get("log");
    log.set({ model, stream: prepared.request.stream === true, caller: LOGGED_KIND[c.get("caller").kind] });
    const record = usageRecorder(c, admitted, metering);
    // The one output cap that goes upstream: what the admission reserved (lowered where the budget is short).
    const cap = admission?.cap ?? prepared.want;
    const request = withOutputCap(prepared, cap);
    const estimate = (produced: Produced) =>
      estimatedUsage(model, price, promptTokens, produced, cap * prepared.choices);
    const nothing = estimate({ bytes: 0, pieces: 0 });
    const clientAsked = request.stream_options?.include_usage === true;
    // The relay always asks for usage on a stream; what the client did not ask for is removed again.
    const sent = request.stream
      ? { ...request, stream_options: { ...request.stream_options, include_usage: true } }
      : request;
    const reportEnd = (end: StreamEnd) => {
      if (end !== "complete") log.event(end === "client_cancelled" ? "info" : "warn", `chat answer ended: ${end}`);
    };
    let upstream: Awaited<ReturnType<typeof postChatCompletion>>;
    try {
      upstream = await postChatCompletion(
        { baseUrl: config.OPENAI_BASE_URL, apiKey: config.OPENAI_API_KEY, timeoutMs: config.OPENAI_TIMEOUT_MS },
        JSON.stringify(sent),
        reportEnd,
      );
    } catch (error) {
      // Nothing reached the model, or nothing came back to bill: the request is counted, its tokens are not.
      record({ ...nothing, promptTokens: 0, estimated: false });
      throw error;
    }
    log.set({ upstream_status: upstream.status });
    if (upstream.kind === "whole") {
      const used = upstream.status < 300 ? (usageOfBody(upstream.body, model, price, estimate) ?? nothing) : undefined;
      record(used ?? { ...nothing, promptTokens: 0, estimated: false });
      return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
    }
    // OPENAI_TIMEOUT_MS bounds the wait for the headers and, here, every silence between two chunks. A stream
    // that ends without the usage the relay asked for (the client left, the upstream broke off) is charged
    // what it produced, estimated; a client that leaves cancels the upstream request at once.
    const produced: Produced = { bytes: 0, pieces: 0 };
    let reported: Usage | undefined;
    let recorded = false;
    const recordOnce = () => {
      if (recorded) return;
      recorded = true;
      record(reported ?? estimate(produced));
    };
    const body = watchStream(upstream.body, config.OPENAI_TIMEOUT_MS, MAX_UPSTREAM_BODY_BYTES, (end) => {
      reportEnd(end);
      if (end !== "complete") return recordOnce();
      // The last events are still on their way through the usage watcher; a client that leaves right now
      // would stop them there, so the usage is recorded a moment later in any case.
      c.executionCtx.waitUntil(new Promise((resolve) => setTimeout(resolve, 1000)).then(recordOnce));
    }).pipeThrough(
      usageStream(
        clientAsked,
        produced,
        (usage) => {
          reported = usageOf(usage, model, price);
        },
        recordOnce,
      ),
    );
    return new Response(body, { status: upstream.status, headers: upstream.headers });
  });
}

mount(chat, chatRoutes.models, (c) => listModels(c));
