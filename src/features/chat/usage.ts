import { costMicros, type Price } from "../../metering/prices";
import type { Usage } from "../../metering/state";

/** Token counts as OpenAI reports them (`usage` of a completion, or of the last chunk of a stream). */
type Reported = { prompt_tokens?: unknown; completion_tokens?: unknown };

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** The usage an upstream reported, priced; undefined when it reported none or nonsense. */
export function usageOf(reported: unknown, model: string, price: Price | undefined): Usage | undefined {
  if (typeof reported !== "object" || reported === null) return undefined;
  const prompt = count((reported as Reported).prompt_tokens);
  const completion = count((reported as Reported).completion_tokens);
  if (prompt === undefined || completion === undefined) return undefined;
  return { model, promptTokens: prompt, completionTokens: completion, micros: costMicros(price, prompt, completion) };
}

/** The usage in a whole (non-streamed) chat completion, or undefined. */
export function usageOfBody(body: Uint8Array, model: string, price: Price | undefined): Usage | undefined {
  try {
    return usageOf((JSON.parse(new TextDecoder().decode(body)) as { usage?: unknown }).usage, model, price);
  } catch {
    return undefined;
  }
}

const encoder = new TextEncoder();

/**
 * Watches a chat stream's server-sent events for the usage the relay always asks for
 * (`stream_options.include_usage`), and hands it to `onUsage`. When the client did not ask for it, the
 * stream is made what OpenAI would have sent: the final usage chunk (`"choices":[]`) is dropped and the
 * `"usage":null` every other chunk then carries is removed. Otherwise the bytes pass unchanged. `onDone`
 * runs once the last event has passed.
 */
export function usageStream(
  clientAsked: boolean,
  onUsage: (reported: unknown) => void,
  onDone: () => void,
): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  let buffer = "";
  return new TransformStream({
    transform(chunk, controller) {
      buffer += decoder.decode(chunk, { stream: true });
      const parts = buffer.split("\n\n");
      buffer = parts.pop() ?? "";
      let out = "";
      for (const event of parts) {
        const kept = eventKept(event, clientAsked, onUsage);
        if (kept !== undefined) out += `${kept}\n\n`;
      }
      if (out !== "") controller.enqueue(encoder.encode(out));
    },
    flush(controller) {
      buffer += decoder.decode();
      const kept = buffer === "" ? undefined : eventKept(buffer, clientAsked, onUsage);
      if (kept) controller.enqueue(encoder.encode(kept));
      onDone();
    },
  });
}

/** One event as it goes on to the client, or undefined when it is dropped. */
function eventKept(event: string, clientAsked: boolean, onUsage: (reported: unknown) => void): string | undefined {
  if (!event.includes('"usage"')) return event;
  if (event.includes('"usage":{')) {
    const data = /^data: (.*)$/m.exec(event)?.[1];
    let chunk: { choices?: unknown; usage?: unknown } | undefined;
    try {
      chunk = data === undefined ? undefined : (JSON.parse(data) as { choices?: unknown; usage?: unknown });
    } catch {
      chunk = undefined;
    }
    if (chunk?.usage) onUsage(chunk.usage);
    if (!clientAsked && Array.isArray(chunk?.choices) && chunk.choices.length === 0) return undefined;
  }
  // A quote inside a JSON string is escaped, so this text can only be the chunk's own top-level field.
  return clientAsked ? event : event.replace(',"usage":null', "").replace('"usage":null,', "");
}
