import { createParser } from "eventsource-parser";
import type { Price } from "../../metering/prices";
import type { Usage } from "../../metering/state";
import { addPiece, type Pricing, type Produced, reportedUsage, wholeAnswerUsage } from "../proxy/usage";

/** Token counts as the Responses API reports them (`usage` of a response; output includes reasoning). */
type Reported = {
  input_tokens?: unknown;
  output_tokens?: unknown;
  input_tokens_details?: { cached_tokens?: unknown } | null;
};

/** The usage a response reported, priced (cached input at its rate); undefined when it reported none or nonsense. */
export function responseUsageOf(reported: unknown, model: string, price: Price | undefined): Usage | undefined {
  if (typeof reported !== "object" || reported === null) return undefined;
  const { input_tokens, output_tokens, input_tokens_details } = reported as Reported;
  return reportedUsage(model, price, input_tokens, input_tokens_details?.cached_tokens, output_tokens);
}

/** Adds the text an output item carries: message text and refusals, call arguments and inputs, reasoning summaries. */
function addItem(produced: Produced, item: unknown): void {
  if (typeof item !== "object" || item === null) return;
  const { content, summary, arguments: args, input } = item as Record<string, unknown>;
  const texts: unknown[] = [args, input];
  for (const part of [...(Array.isArray(content) ? content : []), ...(Array.isArray(summary) ? summary : [])]) {
    const { text, refusal } = (part ?? {}) as Record<string, unknown>;
    texts.push(text, refusal);
  }
  addPiece(produced, texts);
}

/**
 * The usage of a whole response: what it reports, else an estimate from its output's text, else undefined
 * when the body is not a response at all.
 */
export function responseUsageOfBody(body: Uint8Array, pricing: Pricing): Usage | undefined {
  const read = (reported: unknown) => responseUsageOf(reported, pricing.model, pricing.price);
  return wholeAnswerUsage(body, pricing, read, "output", addItem);
}

/**
 * Watches a Responses stream's typed events, parsed as the SSE spec says (lines may end in CR, LF or CRLF),
 * and passes every byte on unchanged and at once. The response that closes the stream (`response.completed`,
 * `response.incomplete`, `response.failed`) carries the usage, which goes to `onUsage`; the text of each
 * `….delta` event (output text, refusals, arguments, reasoning; not audio) counts into `produced`, for an
 * estimate should the usage never come. `onDone` runs once the last byte has passed.
 */
export function responseEvents(
  produced: Produced,
  onUsage: (reported: unknown) => void,
  onDone: () => void,
): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const parser = createParser({
    onEvent(event) {
      let data: { type?: unknown; delta?: unknown; response?: { usage?: unknown } } | undefined;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      const type = typeof data?.type === "string" ? data.type : (event.event ?? "");
      if (type.endsWith(".delta") && !type.startsWith("response.audio.")) addPiece(produced, [data?.delta]);
      if (data?.response?.usage) onUsage(data.response.usage);
    },
  });
  return new TransformStream({
    transform(chunk, controller) {
      controller.enqueue(chunk);
      parser.feed(decoder.decode(chunk, { stream: true }));
    },
    flush() {
      parser.feed(decoder.decode());
      // An upstream that ends without the blank line after its last event still has that event read.
      parser.reset({ consume: true });
      onDone();
    },
  });
}
