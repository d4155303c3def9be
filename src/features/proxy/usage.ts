import { costMicros, type Price, type TokenCounts } from "../../metering/prices";
import type { Usage } from "../../metering/state";

/** A count an upstream reported, when it is one: a non-negative safe integer. */
export function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * The usage an upstream reported, from its raw prompt, cached and completion counts, priced; undefined when
 * the prompt or completion count is not a count (a cached count that is not one counts as none).
 */
export function reportedUsage(
  model: string,
  price: Price | undefined,
  prompt: unknown,
  cached: unknown,
  completion: unknown,
): Usage | undefined {
  const promptTokens = count(prompt);
  const completionTokens = count(completion);
  if (promptTokens === undefined || completionTokens === undefined) return undefined;
  const cachedTokens = Math.min(count(cached) ?? 0, promptTokens);
  return pricedUsage(model, price, { promptTokens, cachedTokens, completionTokens }, false);
}

/** Usage of `model` with these counts, priced (cached prompt tokens at the cached rate) when it has a price. */
export function pricedUsage(model: string, price: Price | undefined, counts: TokenCounts, estimated: boolean): Usage {
  return {
    model,
    promptTokens: counts.promptTokens,
    completionTokens: counts.completionTokens,
    micros: price === undefined ? 0 : costMicros(price, counts),
    priced: price !== undefined,
    estimated,
  };
}

/** Generated text seen so far: its UTF-8 bytes, and how many pieces (stream events) brought it. */
export type Produced = { bytes: number; pieces: number };

const encoder = new TextEncoder();

/** Adds one piece of an answer (the strings among `texts`) to what it produced. */
export function addPiece(produced: Produced, texts: unknown[]): void {
  let bytes = 0;
  for (const text of texts) if (typeof text === "string") bytes += encoder.encode(text).length;
  if (bytes > 0) {
    produced.bytes += bytes;
    produced.pieces += 1;
  }
}

/**
 * What an answer that never reported its usage is charged: the prompt at its upper bound, and the text it
 * produced at a token per three UTF-8 bytes (English runs about four, other scripts fewer) or a token per
 * streamed piece if that is more, never more than the output cap allowed. Marked `estimated`.
 */
export function estimatedUsage(
  model: string,
  price: Price | undefined,
  promptTokens: number,
  produced: Produced,
  maxCompletionTokens: number,
): Usage {
  const completionTokens = Math.min(maxCompletionTokens, Math.max(produced.pieces, Math.ceil(produced.bytes / 3)));
  return pricedUsage(model, price, { promptTokens, cachedTokens: 0, completionTokens }, true);
}

/** A JSON body as an object, or undefined when it is not one. */
export function jsonObjectOf(body: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(body));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** How one answer of the model that served it is priced and estimated (src/features/proxy/relay.ts). */
export type Pricing = {
  model: string;
  price: Price | undefined;
  /** What the answer is charged when it reports no usage: an estimate from what it produced. */
  estimate(produced: Produced): Usage;
};

/**
 * The usage of a whole answer: what it reports (`read` of its `usage`), else an estimate from the text of its
 * `parts` list (`choices`, `output`; `add` counts one), else undefined when the body is not such an answer.
 */
export function wholeAnswerUsage(
  body: Uint8Array,
  pricing: Pricing,
  read: (reported: unknown) => Usage | undefined,
  parts: string,
  add: (produced: Produced, part: unknown) => void,
): Usage | undefined {
  const answer = jsonObjectOf(body);
  const reported = read(answer?.usage);
  const list = answer?.[parts];
  if (reported || !Array.isArray(list)) return reported;
  const produced = { bytes: 0, pieces: 0 };
  for (const part of list) add(produced, part);
  return pricing.estimate(produced);
}
