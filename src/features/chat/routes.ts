import { Hono } from "hono";
import type { AppEnv } from "../../env";
import { readConfig } from "../../lib/config";
import { watchStream } from "../../lib/watch-stream";
import { requireToken } from "../../middleware/auth";
import { limitBody, readJson } from "../../middleware/json-body";
import { rateLimit } from "../../middleware/rate-limit";
import { postChatCompletion } from "../../upstream/openai";
import { prepareChatRequest } from "./prepare";
import { chatConfig, chatLimitConfig, chatRequest } from "./schema";

/** The LLM relay: the original's path and the OpenAI SDK's path answer the same way. */
export const chat = new Hono<AppEnv>();

export const CHAT_PATHS = ["/relay/openai/chat", "/v1/chat/completions"];

chat.on(
  "POST",
  CHAT_PATHS,
  rateLimit({ scope: "chat", limit: (c) => readConfig(c.env, chatLimitConfig).RATE_LIMIT_REQUESTS }),
  requireToken({ secret: "RELAY_SECRET", header: "X-Relay-Secret" }),
  limitBody(),
  async (c) => {
    const config = readConfig(c.env, chatConfig);
    const request = prepareChatRequest(await readJson(c, chatRequest), config);
    c.get("log").set({ model: request.model, stream: request.stream === true });
    const upstream = await postChatCompletion(
      { baseUrl: config.OPENAI_BASE_URL, apiKey: config.OPENAI_API_KEY, timeoutMs: config.OPENAI_TIMEOUT_MS },
      JSON.stringify(request),
    );
    const log = c.get("log");
    log.set({ upstream_status: upstream.status });
    // Only a stream is watched chunk by chunk: a JSON answer arrives whole, and the JS pump costs a quarter
    // of the relay's throughput (BENCHMARKS.md).
    const streaming = upstream.headers.get("Content-Type")?.startsWith("text/event-stream") ?? false;
    if (!upstream.body || !streaming) return upstream;
    const body = watchStream(upstream.body, (end) => {
      if (end !== "complete") log.event(end === "upstream_broke" ? "warn" : "info", `chat stream ended: ${end}`);
    });
    return new Response(body, upstream);
  },
);
