import * as z from "zod";
import { decimal, integer, list, required, text, url } from "../../lib/config";

/** The LLM relay's variables (DESIGN.md, "Configuration"). */
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

const tokenCount = z.number().int().positive().nullish();

/**
 * An OpenAI chat completion request. Only what the relay enforces is checked; every other field
 * (tools, response_format, …) passes through untouched.
 */
export const chatRequest = z.looseObject({
  model: z.string().min(1).optional(),
  messages: z.array(z.looseObject({ role: z.string().min(1) })).min(1),
  max_tokens: tokenCount,
  max_completion_tokens: tokenCount,
  temperature: z.number().min(0).max(2).nullish(),
  stream: z.boolean().nullish(),
});
export type ChatRequest = z.output<typeof chatRequest>;
