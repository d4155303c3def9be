import type { Usage } from "../../metering/state";
import { jsonObjectOf, type Pricing, reportedUsage } from "../proxy/usage";

/** The usage an embeddings answer reported (`prompt_tokens`; nothing is generated), priced; else undefined. */
function embeddingUsageOf(reported: unknown, { model, price }: Pricing): Usage | undefined {
  if (typeof reported !== "object" || reported === null) return undefined;
  return reportedUsage(model, price, (reported as { prompt_tokens?: unknown }).prompt_tokens, 0, 0);
}

/** The usage of a whole embeddings answer, or undefined when it reports none. */
export function embeddingUsageOfBody(body: Uint8Array, pricing: Pricing): Usage | undefined {
  return embeddingUsageOf(jsonObjectOf(body)?.usage, pricing);
}

/** How much of an answer's end is kept to find its usage: OpenAI writes `usage` last, a few dozen bytes. */
const TAIL_BYTES = 4096;

/** The `usage` object an answer ends with (`…,"usage":{"prompt_tokens":8,"total_tokens":8}}`). */
const USAGE_AT_END = /"usage"\s*:\s*(\{[^{}]*\})\s*\}\s*$/;

/**
 * Passes an embeddings answer on as it arrives (a few thousand vectors run to megabytes; reading it whole would
 * only delay it and hold it in memory) and reads the usage from its last TAIL_BYTES at the end, for `onUsage`.
 * An answer whose usage is not there (another order of fields, a broken body) is charged the input's bound.
 */
export function embeddingTail(pricing: Pricing, onUsage: (used: Usage) => void, onDone: () => void) {
  let tail = new Uint8Array();
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      controller.enqueue(chunk);
      const kept = tail.subarray(Math.max(0, tail.length + chunk.length - TAIL_BYTES));
      const next = new Uint8Array(kept.length + Math.min(chunk.length, TAIL_BYTES));
      next.set(kept);
      next.set(chunk.subarray(Math.max(0, chunk.length - TAIL_BYTES)), kept.length);
      tail = next;
    },
    flush() {
      const found = USAGE_AT_END.exec(new TextDecoder().decode(tail))?.[1];
      let reported: unknown;
      try {
        reported = found === undefined ? undefined : JSON.parse(found);
      } catch {
        reported = undefined;
      }
      const used = embeddingUsageOf(reported, pricing);
      if (used) onUsage(used);
      onDone();
    },
  });
}
