#!/usr/bin/env node
// The offline demo upstream: a tiny OpenAI-compatible server on 127.0.0.1 that `npm start` runs when
// .dev.vars has no OPENAI_API_KEY, so that a newcomer's first chat gets an answer instead of a DNS error.
// It lives only in scripts/: the Worker never imports it, and `npm run deploy` never starts it.
// `node scripts/demo-upstream.mjs [--port N]` runs it on its own.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

/** The model name the demo answers with, whatever model was asked for. */
export const DEMO_MODEL = "demo";

/** The dummy key `npm start` gives the relay for the demo (the demo accepts any key). */
export const DEMO_API_KEY = "demo";

const PLACEHOLDER_KEYS = new Set(["", "change-me"]);

/**
 * Whether `npm start` should run the demo upstream for these `.dev.vars`: only when OPENAI_API_KEY is empty
 * (or the template's "change-me") and OPENAI_BASE_URL is not set, so a real key or a server of one's own
 * (Ollama, LM Studio, …) is never overridden.
 */
export function usesDemoUpstream(vars) {
  const key = (vars.OPENAI_API_KEY ?? "").trim();
  const baseUrl = (vars.OPENAI_BASE_URL ?? "").trim();
  return PLACEHOLDER_KEYS.has(key) && baseUrl === "";
}

/** The canned answer; it counts the messages it received and never repeats their content. */
export function demoReply(messageCount) {
  const messages = messageCount === 1 ? "1 message" : `${messageCount} messages`;
  return (
    `This is the Soul Mirror Relay's offline demo upstream (model "demo"), not a real model: your ${messages} ` +
    "reached the relay and came back with this canned answer. To chat with OpenAI, put your API key into " +
    ".dev.vars as OPENAI_API_KEY=sk-... (or point OPENAI_BASE_URL at any OpenAI-compatible server) and run " +
    "npm start again."
  );
}

function sendJson(res, status, value) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(value));
}

function sendError(res, status, message, code = null) {
  sendJson(res, status, { error: { message, type: "invalid_request_error", param: null, code } });
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return undefined;
  }
}

/** A rough token count (about four characters a token), from lengths only. */
function estimateTokens(messages) {
  const characters = messages.reduce((sum, message) => sum + JSON.stringify(message?.content ?? "").length, 0);
  return Math.max(1, Math.ceil(characters / 4));
}

function usageOf(messages, reply) {
  const prompt = estimateTokens(messages);
  const completion = reply.split(" ").length;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function completion(id, created, messages) {
  const reply = demoReply(messages.length);
  return {
    id,
    object: "chat.completion",
    created,
    model: DEMO_MODEL,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: reply, refusal: null },
        logprobs: null,
        finish_reason: "stop",
      },
    ],
    usage: usageOf(messages, reply),
    system_fingerprint: null,
  };
}

/** Server-sent events as OpenAI streams them: role, words, finish reason, optional usage, `[DONE]`. */
function streamCompletion(res, id, created, messages, includeUsage) {
  const reply = demoReply(messages.length);
  const chunk = (choices, usage) => {
    const value = {
      id,
      object: "chat.completion.chunk",
      created,
      model: DEMO_MODEL,
      system_fingerprint: null,
      choices,
    };
    if (includeUsage) value.usage = usage ?? null;
    res.write(`data: ${JSON.stringify(value)}\n\n`);
  };
  const choice = (delta, finishReason = null) => [{ index: 0, delta, logprobs: null, finish_reason: finishReason }];
  res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache" });
  chunk(choice({ role: "assistant", content: "", refusal: null }));
  for (const [index, word] of reply.split(" ").entries()) chunk(choice({ content: index === 0 ? word : ` ${word}` }));
  chunk(choice({}, "stop"));
  if (includeUsage) chunk([], usageOf(messages, reply));
  res.end("data: [DONE]\n\n");
}

async function handle(req, res) {
  const path = new URL(req.url ?? "/", "http://demo").pathname;
  if (req.method === "GET" && path === "/v1/models") {
    const created = Math.floor(Date.now() / 1000);
    return sendJson(res, 200, {
      object: "list",
      data: [{ id: DEMO_MODEL, object: "model", created, owned_by: "soul-mirror-relay" }],
    });
  }
  if (req.method !== "POST" || path !== "/v1/chat/completions") {
    return sendError(res, 404, `Unknown request URL: ${req.method} ${path}.`, "unknown_url");
  }
  const body = await readJson(req);
  if (!body || typeof body !== "object" || !Array.isArray(body.messages) || body.messages.length === 0) {
    return sendError(res, 400, "The body must be JSON with a non-empty messages array.");
  }
  const id = `chatcmpl-demo${randomBytes(12).toString("hex")}`;
  const created = Math.floor(Date.now() / 1000);
  if (body.stream === true) {
    return streamCompletion(res, id, created, body.messages, body.stream_options?.include_usage === true);
  }
  sendJson(res, 200, completion(id, created, body.messages));
}

/** Starts the demo upstream on 127.0.0.1 (port 0: any free port); `url` is the base URL, ending in /v1. */
export async function startDemoUpstream({ port = 0 } = {}) {
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendError(res, 500, "The demo upstream failed.");
      else res.destroy();
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const actual = server.address().port;
  return {
    url: `http://127.0.0.1:${actual}/v1`,
    port: actual,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function main() {
  const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });
  const demo = await startDemoUpstream({ port: Number(values.port) });
  console.log(`Demo upstream (model "${DEMO_MODEL}"): ${demo.url}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
