import { Hono } from "hono";
import type { AppEnv } from "../../env";
import { readConfig } from "../../lib/config";
import { readJson } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import { modelConfig } from "../proxy/config";
import { relayModelCall } from "../proxy/relay";
import { listModels, retrieveModel } from "./models";
import { chatCall, prepareChatRequest } from "./prepare";
import { chatRequest } from "./schema";

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
  model: { method: "GET", path: "/v1/models/:id", auth: "chat-credential", rateLimit: "chat", body: null },
} as const satisfies Record<string, RouteSpec>;

export const chat = new Hono<AppEnv>();

for (const spec of [chatRoutes.chat, chatRoutes.chatCompletions]) {
  mount(chat, spec, async (c) => {
    const config = readConfig(c.env, modelConfig);
    const prepared = prepareChatRequest(await readJson(c.req.raw, chatRequest), config);
    return relayModelCall(c, chatCall(prepared));
  });
}

mount(chat, chatRoutes.models, (c) => listModels(c));
mount(chat, chatRoutes.model, (c) => retrieveModel(c, c.req.param("id") ?? ""));
