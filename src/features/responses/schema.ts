import * as z from "zod";
import { anyObject, metadata, promptCacheRetention, serviceTier, shortText, tokenCount, typed } from "../proxy/fields";

const id = z.string().min(1).max(256);

/**
 * An OpenAI Responses request (https://platform.openai.com/docs/api-reference/responses/create): every field of
 * the reference, each checked; a field the relay does not know is refused by name. Input items, tools and the
 * text format take many shapes, which the upstream checks; the relay decides what costs more than tokens or
 * keeps data (prepare.ts): `background`, hosted tools, `service_tier`, `store` and what needs it.
 */
export const responsesRequest = z.strictObject({
  model: id.optional(),
  input: z.union([z.string(), z.array(anyObject).max(10_000)]).optional(),
  instructions: z.string().nullish(),
  max_output_tokens: tokenCount,
  max_tool_calls: tokenCount,
  background: z.boolean().nullish(),
  context_management: z.array(anyObject).max(16).nullish(),
  conversation: z.union([id, z.looseObject({ id })]).nullish(),
  include: z.array(z.string().min(1).max(128)).max(32).nullish(),
  metadata,
  moderation: anyObject.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  previous_response_id: id.nullish(),
  prompt: z.looseObject({ id }).nullish(),
  prompt_cache_key: shortText(256),
  prompt_cache_options: anyObject.nullish(),
  prompt_cache_retention: promptCacheRetention,
  reasoning: anyObject.nullish(),
  safety_identifier: shortText(256),
  service_tier: serviceTier,
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_obfuscation: z.boolean().optional() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  text: anyObject.optional(),
  tool_choice: z.union([z.enum(["none", "auto", "required"]), typed]).nullish(),
  tools: z.array(typed).max(128).nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  truncation: z.enum(["auto", "disabled"]).nullish(),
  user: shortText(256),
});
export type ResponsesRequest = z.output<typeof responsesRequest>;
