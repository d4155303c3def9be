import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { json, listenOnLoopback, parseRecorded, readBody } from "./http.ts";

/**
 * Stand-in for an OpenAI-compatible server on 127.0.0.1, speaking the real wire format (JSON and SSE).
 *
 * Each test picks its own scenario through the base URL it gives the relay, so tests running at once never
 * share state: `http://127.0.0.1:PORT/s/<id>/<behaviour>/v1`. Behaviours:
 *   ok              a chat.completion whose content reports the max_tokens it received (usage: 1 + 1 tokens)
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

const scenarioPath = /^\/s\/([\w.-]+)\/([\w-]+)\/v1\/chat\/completions$/;

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
    const [, id = "", behaviour = ""] = match;

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
    await behave(behaviour, record, req, res);
  });
  return listenOnLoopback(server, port);
}

async function behave(behaviour: string, record: RecordedRequest, req: IncomingMessage, res: ServerResponse) {
  const body = (record.body ?? {}) as {
    model?: string;
    max_tokens?: number;
    stream?: boolean;
    stream_options?: { include_usage?: boolean };
  };
  const usage = body.stream_options?.include_usage === true;
  const [kind, a, b] = behaviour.split("-");
  switch (kind) {
    case "chat":
      if (body.stream)
        return drip(res, record, body.model ?? "unknown", Number(a ?? 5), Number(b ?? 100), "done", usage);
      return json(res, 200, completion(body.model ?? "unknown", `max_tokens=${body.max_tokens ?? "none"}`));
    case "ok":
      return json(res, 200, completion(body.model ?? "unknown", `max_tokens=${body.max_tokens ?? "none"}`));
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
