import type { Context } from "hono";
import type { AppEnv, Caller } from "../../env";
import { InvalidRequest, NotConfigured } from "../../errors";
import { readConfig } from "../../lib/config";
import type { Logger } from "../../lib/log";
import { type StreamEnd, watchStream } from "../../lib/watch-stream";
import { recordUsage } from "../../metering/client";
import { type Demand, demandOf } from "../../metering/demand";
import { type Price, priceOf } from "../../metering/prices";
import type { Usage } from "../../metering/state";
import { MAX_UPSTREAM_BODY_BYTES, postModel, type UpstreamTarget } from "../../upstream/openai";
import { type Admitted, admitCaller, relaySecretAccess } from "./caller";
import { type MeteringConfig, type ModelConfig, meteringConfig, modelConfig } from "./config";
import { fallbacksOf, priceTableOf, type RoutingConfig, routingConfig, upstreamOf } from "./providers";
import { estimatedUsage, type Pricing, type Produced } from "./usage";

/**
 * What one OpenAI-compatible route (chat, responses, embeddings) tells the shared core about a request it has
 * read and checked: where it goes, what it may cost, how its body is written for a model and an output cap,
 * and how its answer reports usage.
 */
export type ModelCall = {
  /** The upstream path under the provider's base URL. */
  path: "/chat/completions" | "/responses" | "/embeddings";
  /** The model asked for (defaults filled, ALLOWED_MODELS checked). */
  model: string;
  /** An upper bound of its input tokens. */
  promptTokens: number;
  /** How many answers it asks for, and the output tokens each may take within MAX_TOKENS (0: an embedding). */
  choices: number;
  want: number;
  stream: boolean;
  /**
   * A successful whole answer passes through as it arrives, up to this many bytes, instead of being read first
   * (embeddings: large, and read only for the usage at their end).
   */
  wholeAsStream?: { maxBytes: number };
  /**
   * The JSON body that goes to `model` upstream, its one output cap set to `cap`; `streamOptions` false for a
   * provider that refuses `stream_options`.
   */
  body(model: string, cap: number, streamOptions: boolean): string;
  /** The usage a whole answer reports (or an estimate from its text); undefined when it is no answer. */
  usageOfBody(body: Uint8Array, pricing: Pricing): Usage | undefined;
  /** Watches an answer that passes through for its usage (`onUsage`) and for what it produced; `onDone` at its end. */
  watch(
    pricing: Pricing,
    produced: Produced,
    onUsage: (used: Usage) => void,
    onDone: () => void,
  ): TransformStream<Uint8Array, Uint8Array>;
};

/** How the log names what a route answers. */
const ANSWER_NAMES: Record<ModelCall["path"], string> = {
  "/chat/completions": "chat answer",
  "/responses": "response",
  "/embeddings": "embeddings answer",
};

/** How the log line names a caller. */
const LOGGED_KIND: Partial<Record<Caller["kind"], string>> = {
  "relay-key": "key",
  "user-jwt": "user",
  "relay-secret": "relay-secret",
};

/** One model that may serve the request: the one asked for, then its MODEL_FALLBACKS. */
type Link = { model: string; target: UpstreamTarget; price: Price | undefined; streamOptions: boolean };

/**
 * The models that may serve a request for `model`, each with its provider, key and price. The model asked for
 * must have its key (else 503 naming the secret); a fallback without one is left out, and the log says so.
 */
function chainOf(
  model: string,
  routing: RoutingConfig,
  config: ModelConfig,
  metering: MeteringConfig,
  env: Env,
  log: Logger,
): Link[] {
  const links: Link[] = [];
  for (const name of [model, ...fallbacksOf(routing, model)]) {
    const { target, keyName, apiKey, streamOptions } = upstreamOf(routing, name, config, env);
    if (apiKey === undefined) {
      if (name === model) throw new NotConfigured(keyName);
      log.event("warn", `fallback ${name} left out: ${keyName} is not set`);
      continue;
    }
    const price = priceOf(metering.MODEL_PRICES.book(priceTableOf(routing, name)), name);
    links.push({ model: name, target, price, streamOptions });
  }
  return links;
}

/** The largest of several demands: what a request reserves when any of several models may serve it. */
function widest(demands: Demand[]): Demand {
  const [first, ...rest] = demands as [Demand, ...Demand[]];
  const prompt = { ...first.prompt };
  const perToken = { ...first.perToken };
  for (const demand of rest) {
    for (const kind of ["tokens", "micros"] as const) {
      prompt[kind] = Math.max(prompt[kind], demand.prompt[kind]);
      perToken[kind] = Math.max(perToken[kind], demand.perToken[kind]);
    }
  }
  return { ...first, prompt, perToken };
}

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

const NOTHING: Produced = { bytes: 0, pieces: 0 };

/**
 * Relays one model call: admits its caller with the request's worst case (the most any model of its chain may
 * cost), sends it to the model's provider with the output cap the admission allows (or, while one answers 429
 * or 5xx or cannot be reached, to the next model of MODEL_FALLBACKS), passes the answer on as it arrives, and
 * charges the usage it reports at the price of the model that served it. `x-relay-provider` names the provider.
 */
export async function relayModelCall(c: Context<AppEnv>, call: ModelCall): Promise<Response> {
  const config = readConfig(c.env, modelConfig);
  const metering = readConfig(c.env, meteringConfig);
  const routing = readConfig(c.env, routingConfig);
  const log = c.get("log");
  const chain = chainOf(call.model, routing, config, metering, c.env, log);
  const [asked] = chain as [Link, ...Link[]];
  const demand = widest(chain.map((link) => demandOf(call.promptTokens, link.price, call.choices, call.want)));
  const admitted = await admitCaller(c, demand, metering);
  const { admission } = admitted;
  const keyModels = admission?.key?.models ?? null;
  if (keyModels && !keyModels.includes(call.model)) {
    admission?.release();
    throw new InvalidRequest(
      `model: "${call.model}" is not one of this relay key's models`,
      "model_not_allowed",
      "model",
    );
  }
  if (admission?.costBudgeted && asked.price === undefined) {
    admission.release();
    throw new InvalidRequest(
      `model: "${call.model}" has no price in MODEL_PRICES to meter a cost budget`,
      "model_not_priced",
      "model",
    );
  }
  // A fallback serves only a caller that may use it, and only at a price where the budget counts cost.
  const usable = chain.filter(
    (link) =>
      link === asked ||
      ((keyModels === null || keyModels.includes(link.model)) &&
        !(admission?.costBudgeted && link.price === undefined)),
  );
  if (admission && admission.waitMs > 0) await new Promise((resolve) => setTimeout(resolve, admission.waitMs));

  log.set({ model: call.model, stream: call.stream, caller: LOGGED_KIND[c.get("caller").kind] });
  const record = usageRecorder(c, admitted, metering);
  // The one output cap that goes upstream: what the admission reserved (lowered where the budget is short).
  const cap = admission?.cap ?? call.want;
  const pricingOf = (link: Link): Pricing => ({
    model: link.model,
    price: link.price,
    estimate: (produced) => estimatedUsage(link.model, link.price, call.promptTokens, produced, cap * call.choices),
  });
  const reportEnd = (end: StreamEnd) => {
    if (end === "complete") return;
    log.event(end === "client_cancelled" ? "info" : "warn", `${ANSWER_NAMES[call.path]} ended: ${end}`);
  };
  let upstream: Awaited<ReturnType<typeof postModel>>;
  try {
    upstream = await postModel(
      call.path,
      usable.map((link) => ({ target: link.target, body: call.body(link.model, cap, link.streamOptions) })),
      { wholeAsStream: call.wholeAsStream !== undefined },
      {
        onBodyEnd: reportEnd,
        onFailedAttempt: (index, why) =>
          log.event("warn", `${usable[index]?.model} failed upstream (${why}); the next model is tried`),
      },
    );
  } catch (error) {
    // Nothing reached the model, or nothing came back to bill: the request is counted, its tokens are not.
    record({ ...pricingOf(asked).estimate(NOTHING), promptTokens: 0, estimated: false });
    throw error;
  }
  const served = usable[upstream.attempt] ?? asked;
  const pricing = pricingOf(served);
  log.set({ upstream_status: upstream.status, provider: served.target.name });
  if (served !== asked) log.set({ served_model: served.model });
  upstream.headers.set("x-relay-provider", served.target.name);
  if (upstream.kind === "whole") {
    const used =
      upstream.status < 300 ? (call.usageOfBody(upstream.body, pricing) ?? pricing.estimate(NOTHING)) : undefined;
    record(used ?? { ...pricing.estimate(NOTHING), promptTokens: 0, estimated: false });
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  }
  // OPENAI_TIMEOUT_MS bounds the wait for the headers and, here, every silence between two chunks. An answer
  // that ends without the usage it reports (the client left, the upstream broke off) is charged what it
  // produced, estimated; a client that leaves cancels the upstream request at once.
  const produced: Produced = { bytes: 0, pieces: 0 };
  let reported: Usage | undefined;
  let recorded = false;
  const recordOnce = () => {
    if (recorded) return;
    recorded = true;
    record(reported ?? pricing.estimate(produced));
  };
  const maxBytes = call.wholeAsStream?.maxBytes ?? MAX_UPSTREAM_BODY_BYTES;
  const body = watchStream(upstream.body, config.OPENAI_TIMEOUT_MS, maxBytes, (end) => {
    reportEnd(end);
    if (end !== "complete") return recordOnce();
    // The last events are still on their way through the usage watcher; a client that leaves right now
    // would stop them there, so the usage is recorded a moment later in any case.
    c.executionCtx.waitUntil(new Promise((resolve) => setTimeout(resolve, 1000)).then(recordOnce));
  }).pipeThrough(
    call.watch(
      pricing,
      produced,
      (used) => {
        reported = used;
      },
      recordOnce,
    ),
  );
  return new Response(body, { status: upstream.status, headers: upstream.headers });
}
