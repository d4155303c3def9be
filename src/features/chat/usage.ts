import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { Price } from "../../metering/prices";
import type { Usage } from "../../metering/state";
import { addPiece, type Pricing, type Produced, reportedUsage, wholeAnswerUsage } from "../proxy/usage";

/** Token counts as OpenAI reports them (`usage` of a completion, or of the last chunk of a stream). */
type Reported = {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown } | null;
};

/** The usage an upstream reported, priced; undefined when it reported none or nonsense. */
export function usageOf(reported: unknown, model: string, price: Price | undefined): Usage | undefined {
  if (typeof reported !== "object" || reported === null) return undefined;
  const { prompt_tokens, completion_tokens, prompt_tokens_details } = reported as Reported;
  return reportedUsage(model, price, prompt_tokens, prompt_tokens_details?.cached_tokens, completion_tokens);
}

const encoder = new TextEncoder();

/** Adds the text a choice carries (content, refusal, reasoning, tool and function call arguments). */
function addText(produced: Produced, part: unknown): void {
  if (typeof part !== "object" || part === null) return;
  const { content, refusal, reasoning_content, tool_calls, function_call } = part as Record<string, unknown>;
  const texts = [content, refusal, reasoning_content, (function_call as { arguments?: unknown })?.arguments];
  if (Array.isArray(tool_calls)) {
    for (const call of tool_calls) texts.push((call as { function?: { arguments?: unknown } })?.function?.arguments);
  }
  addPiece(produced, texts);
}

/**
 * The usage of a whole (non-streamed) chat completion: what it reports, else an estimate from its choices'
 * text (estimatedUsage), else undefined when the body is not a completion at all.
 */
export function usageOfBody(body: Uint8Array, pricing: Pricing): Usage | undefined {
  return wholeAnswerUsage(
    body,
    pricing,
    (reported) => usageOf(reported, pricing.model, pricing.price),
    "choices",
    (produced, choice) => addText(produced, (choice as { message?: unknown })?.message),
  );
}

/**
 * Watches a chat stream's server-sent events, parsed as the SSE spec says (lines may end in CR, LF or CRLF),
 * for the usage the relay always asks for (`stream_options.include_usage`), and hands it to `onUsage`; counts
 * the text the answer carries into `produced`, for an estimate should the usage never come. When the client
 * did not ask for usage, the stream is made what OpenAI would have sent it: the final usage chunk
 * (`"choices":[]`) is dropped and the `"usage":null` every other chunk then carries is removed. Events go on
 * one by one as they complete, written with LF line ends. `onDone` runs once the last event has passed.
 */
export function usageStream(
  clientAsked: boolean,
  produced: Produced,
  onUsage: (reported: unknown) => void,
  onDone: () => void,
): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  let out = "";
  const parser = createParser({
    onEvent(event) {
      const data = dataKept(event.data, clientAsked, produced, onUsage);
      if (data !== undefined) out += serialize(event, data);
    },
    onComment(comment) {
      out += `:${comment}\n\n`;
    },
  });
  const emit = (controller: TransformStreamDefaultController<Uint8Array>) => {
    if (out === "") return;
    controller.enqueue(encoder.encode(out));
    out = "";
  };
  return new TransformStream({
    transform(chunk, controller) {
      parser.feed(decoder.decode(chunk, { stream: true }));
      emit(controller);
    },
    flush(controller) {
      parser.feed(decoder.decode());
      // An upstream that ends without the blank line after its last event still gets that event through.
      parser.reset({ consume: true });
      emit(controller);
      onDone();
    },
  });
}

function serialize(event: EventSourceMessage, data: string): string {
  const name = event.event === undefined ? "" : `event: ${event.event}\n`;
  const id = event.id === undefined ? "" : `id: ${event.id}\n`;
  return `${name}${id}${data
    .split("\n")
    .map((line) => `data: ${line}`)
    .join("\n")}\n\n`;
}

/** One event's data as it goes on to the client, or undefined when it is dropped. */
function dataKept(
  data: string,
  clientAsked: boolean,
  produced: Produced,
  onUsage: (reported: unknown) => void,
): string | undefined {
  if (data === "[DONE]") return data;
  let chunk: { choices?: unknown; usage?: unknown } | undefined;
  try {
    chunk = JSON.parse(data);
  } catch {
    return data;
  }
  if (Array.isArray(chunk?.choices)) {
    for (const choice of chunk.choices) addText(produced, (choice as { delta?: unknown })?.delta);
  }
  if (chunk?.usage) {
    onUsage(chunk.usage);
    if (!clientAsked && Array.isArray(chunk.choices) && chunk.choices.length === 0) return undefined;
  }
  // A quote inside a JSON string is escaped, so this text can only be the chunk's own top-level field.
  return clientAsked ? data : data.replace(',"usage":null', "").replace('"usage":null,', "");
}
