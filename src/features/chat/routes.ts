import { Hono } from "hono";
import type { AppEnv } from "../../env";
import { readConfig } from "../../lib/config";
import { readJson } from "../../lib/request";
import { type StreamEnd, watchStream } from "../../lib/watch-stream";
import { mount, type RouteSpec } from "../../middleware/guard";
import { MAX_UPSTREAM_BODY_BYTES, postChatCompletion } from "../../upstream/openai";
import { prepareChatRequest } from "./prepare";
import { chatConfig, chatRequest } from "./schema";

/** The LLM relay: the original's path and the OpenAI SDK's path answer the same way. */
export const chatRoutes = {
  chat: { method: "POST", path: "/relay/openai/chat", auth: "relay-secret", rateLimit: "chat", body: "json" },
  chatCompletions: {
    method: "POST",
    path: "/v1/chat/completions",
    auth: "relay-secret",
    rateLimit: "chat",
    body: "json",
  },
} as const satisfies Record<string, RouteSpec>;

export const chat = new Hono<AppEnv>();

for (const spec of Object.values(chatRoutes)) {
  mount(chat, spec, async (c) => {
    const config = readConfig(c.env, chatConfig);
    const request = prepareChatRequest(await readJson(c.req.raw, chatRequest), config);
    const log = c.get("log");
    log.set({ model: request.model, stream: request.stream === true });
    const reportEnd = (end: StreamEnd) => {
      if (end !== "complete") log.event(end === "client_cancelled" ? "info" : "warn", `chat answer ended: ${end}`);
    };
    const upstream = await postChatCompletion(
      { baseUrl: config.OPENAI_BASE_URL, apiKey: config.OPENAI_API_KEY, timeoutMs: config.OPENAI_TIMEOUT_MS },
      JSON.stringify(request),
      reportEnd,
    );
    log.set({ upstream_status: upstream.status });
    // Only a stream is watched chunk by chunk here: any other answer was read whole, under the same limits.
    const streaming = upstream.headers.get("Content-Type")?.startsWith("text/event-stream") ?? false;
    if (!upstream.body || !streaming) return upstream;
    // OPENAI_TIMEOUT_MS bounds the wait for the headers and, here, every silence between two chunks.
    const body = watchStream(upstream.body, config.OPENAI_TIMEOUT_MS, MAX_UPSTREAM_BODY_BYTES, reportEnd);
    return new Response(body, upstream);
  });
}
