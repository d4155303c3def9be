import { createParser, type EventSourceMessage } from "eventsource-parser";
import { costMicros, type Price } from "../../metering/prices";
import type { Usage } from "../../metering/state";

/** Token counts as OpenAI reports them (`usage` of a completion, or of the last chunk of a stream). */
type Reported = {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown } | null;
};

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** Usage of `model` with these counts, priced (cached prompt tokens at the cached rate) when it has a price. */
function priced(
  model: string,
  price: Price | undefined,
  counts: { promptTokens: number; cachedTokens: number; completionTokens: number },
  estimated: boolean,
): Usage {
  return {
    model,
    promptTokens: counts.promptTokens,
    completionTokens: counts.completionTokens,
    micros: price === undefined ? 0 : costMicros(price, counts),
    priced: price !== undefined,
    estimated,
  };
}

/** The usage an upstream reported, priced; undefined when it reported none or nonsense. */
export function usageOf(reported: unknown, model: string, price: Price | undefined): Usage | undefined {
  if (typeof reported !== "object" || reported === null) return undefined;
  const { prompt_tokens, completion_tokens, prompt_tokens_details } = reported as Reported;
  const promptTokens = count(prompt_tokens);
  const completionTokens = count(completion_tokens);
  if (promptTokens === undefined || completionTokens === undefined) return undefined;
  const cachedTokens = Math.min(count(prompt_tokens_details?.cached_tokens) ?? 0, promptTokens);
  return priced(model, price, { promptTokens, cachedTokens, completionTokens }, false);
}

/** Generated text seen so far: its UTF-8 bytes, and how many pieces (stream events) brought it. */
export type Produced = { bytes: number; pieces: number };

const encoder = new TextEncoder();

/** Adds the text a choice carries (content, refusal, reasoning, tool and function call arguments). */
function addText(produced: Produced, part: unknown): void {
  if (typeof part !== "object" || part === null) return;
  const { content, refusal, reasoning_content, tool_calls, function_call } = part as Record<string, unknown>;
  const texts = [content, refusal, reasoning_content, (function_call as { arguments?: unknown })?.arguments];
  if (Array.isArray(tool_calls)) {
    for (const call of tool_calls) texts.push((call as { function?: { arguments?: unknown } })?.function?.arguments);
  }
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
  return priced(model, price, { promptTokens, cachedTokens: 0, completionTokens }, true);
}

/**
 * The usage of a whole (non-streamed) chat completion: what it reports, else an estimate from its choices'
 * text (estimatedUsage), else undefined when the body is not a completion at all.
 */
export function usageOfBody(
  body: Uint8Array,
  model: string,
  price: Price | undefined,
  estimate: (produced: Produced) => Usage,
): Usage | undefined {
  let completion: { usage?: unknown; choices?: unknown };
  try {
    completion = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
  const reported = usageOf(completion?.usage, model, price);
  if (reported || !Array.isArray(completion?.choices)) return reported;
  const produced = { bytes: 0, pieces: 0 };
  for (const choice of completion.choices) addText(produced, (choice as { message?: unknown })?.message);
  return estimate(produced);
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
