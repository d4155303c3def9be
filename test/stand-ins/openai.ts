import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { json, listenOnLoopback, parseRecorded, readBody } from "./http.ts";
import { type EmbeddingsBody, embed } from "./openai-embeddings.ts";
import { type ResponsesBody, type ResponsesPlan, respond } from "./openai-responses.ts";

/**
 * Stand-in for an OpenAI-compatible server on 127.0.0.1, speaking the real wire format (JSON and SSE).
 *
 * Each test picks its own scenario through the base URL it gives the relay, so tests running at once never
 * share state: `http://127.0.0.1:PORT/s/<id>/<behaviour>/v1`. Behaviours:
 *   ok              a chat.completion whose content reports the max_tokens it received (usage: 1 + 1 tokens)
 *   gen-<k>[-<c>]   like a real model: each of the `n` choices generates k tokens ("tok1 tok2 …"), cut at the
 *                   output cap it received (`max_completion_tokens`, else `max_tokens`) with finish_reason
 *                   "length"; usage counts the prompt (a token per 4 characters of the messages' content, plus
 *                   3 per message and 3 to prime the answer, as OpenAI's guide counts), c of it cached
 *                   (`prompt_tokens_details.cached_tokens`), and the tokens generated; whole or streamed
 *   gencrlf-<k>     like gen, its stream's lines ending in CRLF (legal SSE, as some servers send)
 *   rawusage-<hex>  like `ok`, its `usage` the raw JSON text <hex> decodes to (numbers JSON.stringify cannot
 *                   write, such as 1e400)
 *   usage-<p>-<c>   like `ok`, reporting usage of p prompt and c completion tokens
 * Streams follow OpenAI: with `stream_options.include_usage`, every chunk carries `"usage":null` and a last
 * chunk with `"choices":[]` carries the usage (5 prompt tokens, one completion token per chunk).
 *   chat-<n>-<ms>   like a real server: `ok` for a plain request, `drip-<n>-<ms>` for `stream: true`
 *   drip-<n>-<ms>   `stream: true` answer of n chunks, one every ms milliseconds, then [DONE]
 *   status-<code>   an OpenAI-style error body with that status
 *   echo-key-401    a 401 whose message repeats the Authorization header it received
 *   hang            accepts the request and never answers
 *   reset           destroys the connection without answering
 *   cut-<n>         streams n chunks, then destroys the connection mid-stream
 *   slow-<ms>       waits ms milliseconds before the headers, then answers like `ok`
 *   stall-<n>       streams n chunks, then keeps the connection open and sends nothing more
 *   stall-body-<s>  status s with a JSON content type and the first bytes of a body, then nothing more
 *   huge-json       200 JSON of more than 8 MiB (the relay's cap on an answer)
 *   huge-stream     a stream of more than 8 MiB
 * The same scenarios answer `/v1/responses` (openai-responses.ts: `ok` reports the `max_output_tokens` it
 * received as its text; `gen`, `gencrlf`, `chat`, `drip`, `cut` and `stall` stream typed events token by
 * token, honouring `max_output_tokens`; `gen-<k>-<c>-<r>` reports c cached input and r reasoning tokens) and
 * `/v1/embeddings` (openai-embeddings.ts: every content scenario embeds; `usagefirst` writes the usage before
 * the data); `status`, `echo`, `hang`, `reset` and `slow` behave alike on all three paths.
 * `GET /__requests/<id>` returns what the scenario received, with `closed_early` set when the client hung
 * up before the answer was complete. Any other path answers 599 so a wrong URL fails loudly.
 */
export type RecordedRequest = {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  chunks_sent: number;
  closed_early: boolean;
};

const scenarioPath = /^\/s\/([\w.-]+)\/([\w-]+)\/v1\/(chat\/completions|responses|embeddings)$/;

/** The three OpenAI paths the stand-in serves. */
type Endpoint = "chat/completions" | "responses" | "embeddings";

export async function startOpenAIStandIn(port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const recorded = new Map<string, RecordedRequest[]>();

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    if (req.method === "GET" && url.pathname.startsWith("/__requests/")) {
      return json(res, 200, recorded.get(url.pathname.slice("/__requests/".length)) ?? []);
    }
    const match = scenarioPath.exec(url.pathname);
    if (!match || req.method !== "POST")
      return json(res, 599, { error: { message: `stand-in: no route ${req.method} ${url.pathname}` } });
    const [, id = "", behaviour = "", endpoint = "chat/completions"] = match;

    const text = await readBody(req);
    const record: RecordedRequest = {
      method: req.method,
      path: url.pathname,
      headers: req.headers,
      body: parseRecorded(text),
      chunks_sent: 0,
      closed_early: false,
    };
    // Load tests (bench, soak) use scenario ids starting with "load": nothing is kept for them.
    if (!id.startsWith("load")) {
      const list = recorded.get(id) ?? [];
      list.push(record);
      recorded.set(id, list);
    }
    res.on("close", () => {
      if (!res.writableFinished) record.closed_early = true;
    });
    await behave(behaviour, record, req, res, endpoint as Endpoint);
  });
  return listenOnLoopback(server, port);
}

/** Answers a content scenario of `/v1/responses` or `/v1/embeddings`; false for one all paths share. */
async function answerOther(endpoint: Endpoint, behaviour: string, record: RecordedRequest, res: ServerResponse) {
  const [kind = "", a, b, c] = behaviour.split("-");
  if (["status", "echo", "hang", "reset", "slow"].includes(kind) || behaviour.startsWith("stall-body")) return false;
  if (endpoint === "embeddings") {
    if (kind === "stall") return false;
    embed(res, record.body as EmbeddingsBody, kind === "usagefirst");
    return true;
  }
  const body = record.body as ResponsesBody;
  const onEvent = () => {
    record.chunks_sent++;
  };
  const plans: Record<string, ResponsesPlan> = {
    ok: { tokens: 1, text: `max_output_tokens=${body.max_output_tokens ?? "none"}` },
    gen: { tokens: Number(a ?? 5), cached: Number(b ?? 0), reasoning: Number(c ?? 0) },
    gencrlf: { tokens: Number(a ?? 5), cached: Number(b ?? 0), reasoning: Number(c ?? 0), crlf: true },
    drip: { tokens: Number(a ?? 5), everyMs: Number(b ?? 100), onEvent },
    cut: { tokens: Number(a ?? 2), everyMs: 20, end: "cut", onEvent },
    stall: { tokens: Number(a ?? 2), everyMs: 20, end: "stall", onEvent },
  };
  // Like a real server: whole for a plain request, token by token for `stream: true`.
  plans.chat = body.stream
    ? { tokens: Number(a ?? 5), everyMs: Number(b ?? 100), onEvent }
    : (plans.ok as ResponsesPlan);
  const plan = Object.hasOwn(plans, kind) ? plans[kind] : undefined;
  if (plan === undefined) return false;
  await respond(res, body, plan);
  return true;
}

async function behave(
  behaviour: string,
  record: RecordedRequest,
  req: IncomingMessage,
  res: ServerResponse,
  endpoint: Endpoint,
) {
  if (endpoint !== "chat/completions" && (await answerOther(endpoint, behaviour, record, res))) return;
  const body = (record.body ?? {}) as {
    model?: string;
    max_tokens?: number;
    stream?: boolean;
    stream_options?: { include_usage?: boolean };
  };
  const usage = body.stream_options?.include_usage === true;
  const [kind, a, b] = behaviour.split("-");
  switch (kind) {
    case "gen":
    case "gencrlf":
      return generate(res, record.body as GenRequest, Number(a ?? 5), Number(b ?? 0), kind === "gencrlf");
    case "chat":
      if (body.stream)
        return drip(res, record, body.model ?? "unknown", Number(a ?? 5), Number(b ?? 100), "done", usage);
      return json(res, 200, completion(body.model ?? "unknown", `max_tokens=${body.max_tokens ?? "none"}`));
    case "ok":
      return json(res, 200, completion(body.model ?? "unknown", `max_tokens=${body.max_tokens ?? "none"}`));
    case "rawusage": {
      const { usage: _, ...rest } = completion(body.model ?? "unknown", "metered");
      res.writeHead(200, { "Content-Type": "application/json" });
      return res.end(`${JSON.stringify(rest).slice(0, -1)},"usage":${Buffer.from(a ?? "", "hex").toString()}}`);
    }
    case "usage":
      return json(res, 200, completion(body.model ?? "unknown", "metered", Number(a), Number(b)));
    case "drip":
      return drip(res, record, body.model ?? "unknown", Number(a ?? 5), Number(b ?? 100), "done", usage);
    case "cut":
      return drip(res, record, body.model ?? "unknown", Number(a ?? 2), 20, "cut", usage);
    case "stall":
      if (a === "body") {
        res.writeHead(Number(b), { "Content-Type": "application/json" });
        res.write('{"id":"chatcmpl-stand-in",');
        return; // the connection stays open; the relay's idle timeout must end it
      }
      return drip(res, record, body.model ?? "unknown", Number(a ?? 2), 20, "stall", usage);
    case "slow":
      await new Promise((resolve) => setTimeout(resolve, Number(a ?? 1000)));
      if (res.destroyed) return;
      if (endpoint !== "chat/completions") return void (await answerOther(endpoint, "ok", record, res));
      return json(res, 200, completion(body.model ?? "unknown", `max_tokens=${body.max_tokens ?? "none"}`));
    case "status":
      return json(res, Number(a), { error: { message: `stand-in error ${a}`, type: "stand_in", code: `status_${a}` } });
    case "huge":
      if (a === "stream")
        return flood(res, "text/event-stream", `data: ${JSON.stringify({ pad: "x".repeat(60_000) })}\n\n`);
      return flood(res, "application/json", " ".repeat(65_536), "{}");
    case "echo":
      return json(res, 401, { error: { message: `Incorrect API key provided: ${req.headers.authorization}` } });
    case "hang":
      return; // never answers; the relay's timeout must fire
    case "reset":
      req.socket.destroy();
      return;
    default:
      return json(res, 599, { error: { message: `stand-in: unknown behaviour ${behaviour}` } });
  }
}

/** Writes `filler` until 9 MiB have gone out (the client may stop reading first), then `end`. */
async function flood(res: ServerResponse, contentType: string, filler: string, end = "") {
  res.writeHead(200, { "Content-Type": contentType });
  const closed = new Promise((resolve) => res.once("close", resolve));
  for (let sent = 0; sent < 9 * 1024 * 1024 && !res.destroyed; sent += filler.length) {
    if (!res.write(filler)) await Promise.race([new Promise((resolve) => res.once("drain", resolve)), closed]);
  }
  if (!res.destroyed) res.end(end);
}

function completion(model: string, content: string, promptTokens = 1, completionTokens = 1) {
  return {
    id: "chatcmpl-stand-in",
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop", logprobs: null }],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

/** The `created` of every streamed chunk: fixed, so that two streams of the same answer are equal byte for byte. */
const CREATED = 1_700_000_000;

async function drip(
  res: ServerResponse,
  record: RecordedRequest,
  model: string,
  count: number,
  everyMs: number,
  end: "done" | "cut" | "stall",
  usage = false,
) {
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive" });
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id: "chatcmpl-stand-in", object: "chat.completion.chunk", created: CREATED, model, choices, ...(usage ? { usage: null } : {}), ...extra })}\n\n`;
  for (let i = 0; i < count; i++) {
    if (res.destroyed) return;
    const delta = i === 0 ? { role: "assistant", content: `chunk${i}` } : { content: ` chunk${i}` };
    res.write(chunk([{ index: 0, delta, finish_reason: null }]));
    record.chunks_sent++;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  if (end === "cut") {
    res.destroy();
    return;
  }
  if (end === "stall") return; // the connection stays open; the relay's idle timeout must end it
  const last = chunk([{ index: 0, delta: {}, finish_reason: "stop" }]);
  const totals = { prompt_tokens: 5, completion_tokens: count, total_tokens: 5 + count };
  const usageChunk = usage ? chunk([], { usage: totals }) : "";
  res.end(`${last}${usageChunk}data: [DONE]\n\n`);
}

type GenRequest = {
  model?: string;
  messages?: Array<{ content?: unknown }>;
  n?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
};

/** A token per 4 characters of content, 3 per message and 3 for the answer's priming (OpenAI's rule of thumb). */
function promptTokensOf(messages: GenRequest["messages"] = []): number {
  const text = messages.map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? "")));
  return text.reduce((sum, content) => sum + Math.ceil(content.length / 4) + 3, 3);
}

/** The `gen` behaviour: n choices of up to `tokens` tokens each, honouring the output cap, whole or streamed. */
async function generate(res: ServerResponse, body: GenRequest, tokens: number, cached: number, crlf: boolean) {
  const model = body.model ?? "unknown";
  const cap = body.max_completion_tokens ?? body.max_tokens ?? Number.POSITIVE_INFINITY;
  const length = Math.min(tokens, cap);
  const choices = body.n ?? 1;
  const finish = length < tokens ? "length" : "stop";
  const words = Array.from({ length }, (_, i) => `tok${i + 1}`);
  const promptTokens = promptTokensOf(body.messages);
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: length * choices,
    total_tokens: promptTokens + length * choices,
    prompt_tokens_details: { cached_tokens: Math.min(cached, promptTokens), audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
  if (!body.stream) {
    return json(res, 200, {
      id: "chatcmpl-stand-in",
      object: "chat.completion",
      created: CREATED,
      model,
      choices: Array.from({ length: choices }, (_, index) => ({
        index,
        message: { role: "assistant", content: words.join(" "), refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: finish,
      })),
      usage,
      service_tier: "default",
      system_fingerprint: "fp_stand_in",
    });
  }
  const end = crlf ? "\r\n" : "\n";
  const withUsage = body.stream_options?.include_usage === true;
  const chunk = (chunkChoices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id: "chatcmpl-stand-in", object: "chat.completion.chunk", created: CREATED, model, service_tier: "default", system_fingerprint: "fp_stand_in", choices: chunkChoices, ...(withUsage ? { usage: null } : {}), ...extra })}${end}${end}`;
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive" });
  for (let index = 0; index < choices; index++) {
    res.write(
      chunk([{ index, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }]),
    );
  }
  for (let i = 0; i < length; i++) {
    if (res.destroyed) return;
    for (let index = 0; index < choices; index++) {
      const content = i === 0 ? words[i] : ` ${words[i]}`;
      res.write(chunk([{ index, delta: { content }, logprobs: null, finish_reason: null }]));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  for (let index = 0; index < choices; index++) {
    res.write(chunk([{ index, delta: {}, logprobs: null, finish_reason: finish }]));
  }
  res.end(`${withUsage ? chunk([], { usage }) : ""}data: [DONE]${end}${end}`);
}
