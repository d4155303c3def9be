import * as z from "zod";
import type { Money } from "./state";

/** USD per million input and output tokens: the same number is micro-dollars per token. */
export type Price = { input: number; output: number };

/**
 * OpenAI's list prices (USD per million tokens, standard tier) for current chat models. MODEL_PRICES adds to
 * and overrides this table; a dated snapshot (`gpt-4o-2024-08-06`) costs what its model name costs.
 */
export const DEFAULT_PRICES: Record<string, Price> = {
  "gpt-5": { input: 1.25, output: 10 },
  "gpt-5-mini": { input: 0.25, output: 2 },
  "gpt-5-nano": { input: 0.05, output: 0.4 },
  "gpt-4.1": { input: 2, output: 8 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4 },
  "gpt-4o": { input: 2.5, output: 10 },
  "gpt-4o-mini": { input: 0.15, output: 0.6 },
  o3: { input: 2, output: 8 },
  "o3-mini": { input: 1.1, output: 4.4 },
  "o4-mini": { input: 1.1, output: 4.4 },
  demo: { input: 0, output: 0 },
};

const price = z.strictObject({ input: z.number().min(0).max(1_000_000), output: z.number().min(0).max(1_000_000) });

/** MODEL_PRICES: a JSON object of model → `{input, output}`, merged over the defaults. */
export const modelPrices = z.preprocess(
  (value) => {
    if (typeof value !== "string" || value.trim() === "") return {};
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  },
  z.record(z.string().min(1).max(256), price).transform((prices) => ({ ...DEFAULT_PRICES, ...prices })),
);

/** The price of a model: its own entry, else the longest model name it starts with; undefined if none. */
export function priceOf(prices: Record<string, Price>, model: string): Price | undefined {
  const own = prices[model];
  if (own) return own;
  let best: string | undefined;
  for (const name of Object.keys(prices)) {
    if (model.startsWith(`${name}-`) && (best === undefined || name.length > best.length)) best = name;
  }
  return best === undefined ? undefined : prices[best];
}

/** Integer micro-dollars for a number of input and output tokens, rounded up. */
export function costMicros(price: Price | undefined, promptTokens: number, completionTokens: number): number {
  if (!price) return 0;
  return Math.ceil(promptTokens * price.input + completionTokens * price.output);
}

/** A chat request's parts that count as input, for the estimate. */
export type PromptParts = { messages: unknown[]; [field: string]: unknown };

/** What an image part may cost as input at most (a high-detail image at OpenAI's largest size). */
export const IMAGE_TOKENS = 2_000;

/**
 * An upper bound of a request's prompt tokens: a token is at least one byte, so the UTF-8 size of the
 * messages, tools and formats as JSON (which adds quotes and keys) bounds the text; images are counted at
 * IMAGE_TOKENS each.
 */
export function promptEstimate(request: PromptParts): number {
  const input = {
    messages: request.messages,
    tools: request.tools,
    functions: request.functions,
    response_format: request.response_format,
    prediction: request.prediction,
  };
  const json = JSON.stringify(input);
  const images = (json.match(/"type":"image_url"/g) ?? []).length;
  return new TextEncoder().encode(json).length + images * IMAGE_TOKENS;
}

/** The worst case a request can cost: its prompt estimate plus every output token it may generate. */
export function reservation(promptTokens: number, maxOutputTokens: number, modelPrice: Price | undefined): Money {
  return {
    tokens: promptTokens + maxOutputTokens,
    micros: costMicros(modelPrice, promptTokens, maxOutputTokens),
  };
}
