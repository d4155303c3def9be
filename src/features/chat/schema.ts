import * as z from "zod";
import { decimal, integer, list, required, text, url } from "../../lib/config";
import { modelPrices } from "../../metering/prices";
import { tier } from "../ledger/schema";

/** The LLM relay's variables (docs/api.md, "Configuration"). */
export const chatConfig = z.object({
  OPENAI_API_KEY: required(),
  OPENAI_BASE_URL: url("https://api.openai.com/v1"),
  OPENAI_MODEL: text("gpt-4o-mini"),
  OPENAI_TIMEOUT_MS: integer(60_000, 1),
  MAX_TOKENS: integer(2000, 1),
  TEMPERATURE: decimal(0.7, 0, 2),
  ALLOWED_MODELS: list(),
});
export type ChatConfig = z.output<typeof chatConfig>;

/** `monthly=500000,yearly=600000`: each tier's monthly token budget; a tier left out has none. */
const tierBudgets = z.preprocess(
  (value) =>
    typeof value === "string" && value.trim() !== ""
      ? Object.fromEntries(value.split(",").map((pair) => pair.split("=").map((part) => part.trim())))
      : {},
  z.partialRecord(tier, z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER)),
);

/** The metering variables (docs/metering.md). */
export const meteringConfig = z.object({
  RATE_LIMIT_REQUESTS: integer(10, 1),
  RATE_LIMIT_QUEUE_MS: integer(0, 0, 60_000),
  TIER_TOKEN_BUDGETS: tierBudgets,
  MODEL_PRICES: modelPrices,
});
export type MeteringConfig = z.output<typeof meteringConfig>;

const tokenCount = z.number().int().positive().max(Number.MAX_SAFE_INTEGER).nullish();
const penalty = z.number().min(-2).max(2).nullish();
const shortText = (max: number) => z.string().max(max).nullish();
/** A JSON object whose inner shape the upstream validates (tools, response formats, message parts). */
const typed = z.looseObject({ type: z.string().min(1).max(64) });

/**
 * One chat message. Its content takes many shapes (text, parts, tool calls, audio), which the upstream
 * checks; the relay checks the role.
 */
const message = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
});

/**
 * An OpenAI chat completion request (https://platform.openai.com/docs/api-reference/chat/create), limited to
 * the fields the relay forwards, each checked. Anything else is refused by name: fields that cost more than
 * the relay can cap (`service_tier`, `modalities`, `audio`, `web_search_options`) or keep prompts at the
 * upstream (`store`, `metadata`), and fields the relay does not know.
 */
export const chatRequest = z.strictObject({
  model: z.string().min(1).max(256).optional(),
  messages: z.array(message).min(1).max(10_000),
  max_tokens: tokenCount,
  max_completion_tokens: tokenCount,
  n: z.number().int().min(1).max(128).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z
    .strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() })
    .nullish(),
  stop: z.union([z.string().max(1000), z.array(z.string().max(1000)).max(4)]).nullish(),
  presence_penalty: penalty,
  frequency_penalty: penalty,
  logit_bias: z
    .record(z.string().regex(/^\d{1,10}$/), z.number().min(-100).max(100))
    .refine((bias) => Object.keys(bias).length <= 1024, "must have at most 1024 entries")
    .nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  seed: z.number().int().nullish(),
  tools: z.array(typed).max(128).nullish(),
  tool_choice: z.union([z.enum(["none", "auto", "required"]), typed]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  functions: z
    .array(z.looseObject({ name: z.string().min(1).max(64) }))
    .max(128)
    .nullish(),
  function_call: z.union([z.enum(["none", "auto"]), z.strictObject({ name: z.string().min(1).max(64) })]).nullish(),
  response_format: typed.nullish(),
  reasoning_effort: z.enum(["none", "minimal", "low", "medium", "high"]).nullish(),
  verbosity: z.enum(["low", "medium", "high"]).nullish(),
  prediction: typed.nullish(),
  user: shortText(256),
  safety_identifier: shortText(256),
  prompt_cache_key: shortText(256),
});
export type ChatRequest = z.output<typeof chatRequest>;
