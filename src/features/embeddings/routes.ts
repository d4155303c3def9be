import { Hono } from "hono";
import type { AppEnv } from "../../env";
import { readConfig } from "../../lib/config";
import { readJson } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import { modelConfig } from "../proxy/config";
import { checkAllowedModel } from "../proxy/decide";
import { relayModelCall } from "../proxy/relay";
import { type EmbeddingsRequest, embeddingsRequest } from "./schema";
import { embeddingTail, embeddingUsageOfBody } from "./usage";

/** OpenAI's embeddings, metered by input tokens, behind the same credentials, limits, keys and budgets as chat. */
export const embeddingsRoutes = {
  embeddings: { method: "POST", path: "/v1/embeddings", auth: "chat-credential", rateLimit: "chat", body: "json" },
} as const satisfies Record<string, RouteSpec>;

/** The most an embeddings answer may bring: 2048 inputs of 3072 dimensions as JSON floats, with room. */
const MAX_EMBEDDINGS_BYTES = 256 * 1024 * 1024;

const encoder = new TextEncoder();

/**
 * An upper bound of the input's tokens: a token is at least one byte of text, and token ids count one each.
 * Nothing is generated, so that is all an embedding can cost.
 */
function inputTokens(input: EmbeddingsRequest["input"]): number {
  const items: Array<string | number | number[]> = Array.isArray(input) ? input : [input];
  let total = 0;
  for (const item of items)
    total += typeof item === "string" ? encoder.encode(item).length : Array.isArray(item) ? item.length : 1;
  return total;
}

export const embeddings = new Hono<AppEnv>();

mount(embeddings, embeddingsRoutes.embeddings, async (c) => {
  const config = readConfig(c.env, modelConfig);
  const request = await readJson(c.req.raw, embeddingsRequest);
  checkAllowedModel(request.model, config);
  return relayModelCall(c, {
    path: "/embeddings",
    model: request.model,
    promptTokens: inputTokens(request.input),
    choices: 1,
    want: 0,
    stream: false,
    wholeAsStream: { maxBytes: MAX_EMBEDDINGS_BYTES },
    body: (model) => JSON.stringify({ ...request, model }),
    usageOfBody: embeddingUsageOfBody,
    watch: (pricing, _produced, onUsage, onDone) => embeddingTail(pricing, onUsage, onDone),
  });
});
