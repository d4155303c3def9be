import { Hono } from "hono";
import type { AppEnv } from "../../env";
import { readConfig } from "../../lib/config";
import { readJson } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import { modelConfig } from "../proxy/config";
import { relayModelCall } from "../proxy/relay";
import { responsesCall } from "./prepare";
import { responsesRequest } from "./schema";

/** OpenAI's Responses API, behind the same credentials, limits, keys, budgets and metering as chat. */
export const responsesRoutes = {
  responses: { method: "POST", path: "/v1/responses", auth: "chat-credential", rateLimit: "chat", body: "json" },
} as const satisfies Record<string, RouteSpec>;

export const responses = new Hono<AppEnv>();

mount(responses, responsesRoutes.responses, async (c) => {
  const config = readConfig(c.env, modelConfig);
  return relayModelCall(c, responsesCall(await readJson(c.req.raw, responsesRequest), config));
});
