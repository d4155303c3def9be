import * as z from "zod";
import { decimal, flag, integer, list, optional, text, url } from "../../lib/config";
import { modelPrices } from "../../metering/prices";
import { tier } from "../ledger/schema";

/** Built-in tools of the Responses API that OpenAI runs (and bills per call or per container) on its side. */
export const HOSTED_TOOLS = [
  "web_search",
  "file_search",
  "code_interpreter",
  "image_generation",
  "mcp",
  "shell",
  "tool_search",
  "programmatic_tool_calling",
] as const;
export type HostedTool = (typeof HOSTED_TOOLS)[number];

/** OpenAI's processing tiers; `priority` and `scale` cost more than the price table says. */
export const SERVICE_TIER_NAMES = ["auto", "default", "flex", "scale", "priority"] as const;

/**
 * The variables of the OpenAI-compatible routes (chat, responses, embeddings; docs/api.md, "Configuration"):
 * the default upstream, the caps, and what a request may ask for that costs more than its tokens.
 */
export const modelConfig = z.object({
  /** Required for the models OpenAI serves (those no PROVIDERS entry claims): checked when one is asked for. */
  OPENAI_API_KEY: optional(),
  OPENAI_BASE_URL: url("https://api.openai.com/v1"),
  OPENAI_MODEL: text("gpt-4o-mini"),
  OPENAI_TIMEOUT_MS: integer(60_000, 1),
  MAX_TOKENS: integer(2000, 1),
  TEMPERATURE: decimal(0.7, 0, 2),
  ALLOWED_MODELS: list(),
  /** The hosted tools a Responses request (and chat's `web_search_options`) may use: none unless listed. */
  RESPONSES_TOOLS: list().pipe(z.array(z.enum(HOSTED_TOOLS))),
  /** The `service_tier` values a request may ask for. */
  SERVICE_TIERS: list()
    .pipe(z.array(z.enum(SERVICE_TIER_NAMES)))
    .transform((tiers) => (tiers.length > 0 ? tiers : ["auto", "default", "flex"])),
  /** Whether chat may ask for audio output (`modalities: ["audio"]`), billed at rates of its own. */
  AUDIO_OUTPUT: flag(),
});
export type ModelConfig = z.output<typeof modelConfig>;

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
