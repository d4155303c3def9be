import * as z from "zod";
import {
  anyObject,
  metadata,
  promptCacheRetention,
  reasoningEffort,
  serviceTier,
  shortText,
  tokenCount,
  typed,
} from "../proxy/fields";

const penalty = z.number().min(-2).max(2).nullish();

/**
 * One chat message. Its content takes many shapes (text, parts, tool calls, audio), which the upstream
 * checks; the relay checks the role.
 */
const message = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
});

/**
 * An OpenAI chat completion request (https://platform.openai.com/docs/api-reference/chat/create): every field
 * of the reference, each checked; a field the relay does not know is refused by name. What costs more than
 * its tokens is decided by configuration when the request is prepared (prepare.ts): `service_tier`
 * (SERVICE_TIERS), audio output (AUDIO_OUTPUT), `web_search_options` (RESPONSES_TOOLS).
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
  reasoning_effort: reasoningEffort,
  verbosity: z.enum(["low", "medium", "high"]).nullish(),
  prediction: typed.nullish(),
  user: shortText(256),
  safety_identifier: shortText(256),
  prompt_cache_key: shortText(256),
  prompt_cache_options: anyObject.nullish(),
  prompt_cache_retention: promptCacheRetention,
  store: z.boolean().nullish(),
  metadata,
  service_tier: serviceTier,
  modalities: z
    .array(z.enum(["text", "audio"]))
    .max(2)
    .nullish(),
  audio: anyObject.nullish(),
  moderation: anyObject.nullish(),
  web_search_options: anyObject.nullish(),
});
export type ChatRequest = z.output<typeof chatRequest>;
