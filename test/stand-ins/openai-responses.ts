import type { ServerResponse } from "node:http";
import { json } from "./http.ts";

/**
 * The OpenAI stand-in's `/v1/responses` (test/stand-ins/openai.ts), shaped as the API reference and the
 * `openai` package's types (`Response`, `ResponseStreamEvent`) say: a whole `response` object, or the typed
 * server-sent events `response.created`, `response.in_progress`, `response.output_item.added`,
 * `response.content_part.added`, `response.output_text.delta` (one per token), `response.output_text.done`,
 * `response.content_part.done`, `response.output_item.done`, then `response.completed` with the usage
 * (`input_tokens`, `input_tokens_details.cached_tokens`, `output_tokens`, `output_tokens_details.reasoning_tokens`),
 * or `response.incomplete` when `max_output_tokens` cut the answer short.
 */

export type ResponsesBody = {
  model?: string;
  input?: unknown;
  instructions?: string | null;
  max_output_tokens?: number;
  stream?: boolean;
  store?: boolean;
  metadata?: Record<string, string>;
};

/** How one scenario answers: `tokens` words (cut at `max_output_tokens`), `cached` of the input cached,
 * `reasoning` of the output reasoning; `text` instead of the words; one event every `everyMs`; `end` how the
 * stream ends. */
export type ResponsesPlan = {
  tokens: number;
  cached?: number;
  reasoning?: number;
  text?: string;
  everyMs?: number;
  crlf?: boolean;
  end?: "done" | "cut" | "stall";
  onEvent?: () => void;
};

const CREATED = 1_700_000_000;

/** A token per 4 characters of the input's text, 3 per message and 3 for the answer's priming. */
function inputTokensOf(body: ResponsesBody): number {
  const texts: string[] = [];
  if (typeof body.instructions === "string") texts.push(body.instructions);
  if (typeof body.input === "string") texts.push(body.input);
  else if (Array.isArray(body.input)) {
    for (const item of body.input as Array<{ content?: unknown }>) {
      texts.push(typeof item?.content === "string" ? item.content : JSON.stringify(item?.content ?? ""));
    }
  }
  return texts.reduce((sum, text) => sum + Math.ceil(text.length / 4) + 3, 3);
}

function responseObject(body: ResponsesBody, status: string, output: unknown[], usage: unknown) {
  return {
    id: "resp_stand_in",
    object: "response",
    created_at: CREATED,
    status,
    background: false,
    error: null,
    incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    max_tool_calls: null,
    model: body.model ?? "unknown",
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: "default",
    store: body.store ?? true,
    temperature: 1,
    text: { format: { type: "text" }, verbosity: "medium" },
    tool_choice: "auto",
    tools: [],
    top_logprobs: 0,
    top_p: 1,
    truncation: "disabled",
    usage,
    user: null,
    metadata: body.metadata ?? {},
  };
}

const message = (text: string, status: string) => ({
  id: "msg_stand_in",
  type: "message",
  status,
  role: "assistant",
  content: status === "in_progress" ? [] : [{ type: "output_text", text, annotations: [], logprobs: [] }],
});

/** Answers a Responses request: whole, or as typed events. */
export async function respond(res: ServerResponse, body: ResponsesBody, plan: ResponsesPlan): Promise<void> {
  const cap = body.max_output_tokens ?? Number.POSITIVE_INFINITY;
  const length = Math.min(plan.tokens, cap);
  const words = plan.text !== undefined ? [plan.text] : Array.from({ length }, (_, i) => `tok${i + 1}`);
  const pieces = words.map((word, i) => (i === 0 ? word : ` ${word}`));
  const text = pieces.join("");
  const inputTokens = inputTokensOf(body);
  const outputTokens = plan.text !== undefined ? 1 : length;
  const usage = {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: Math.min(plan.cached ?? 0, inputTokens) },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: Math.min(plan.reasoning ?? 0, outputTokens) },
    total_tokens: inputTokens + outputTokens,
  };
  const status = length < plan.tokens ? "incomplete" : "completed";
  if (!body.stream) return json(res, 200, responseObject(body, status, [message(text, "completed")], usage));

  const end = plan.crlf ? "\r\n" : "\n";
  let sequence = 0;
  const event = (type: string, fields: Record<string, unknown>) =>
    `event: ${type}${end}data: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}${end}${end}`;
  const where = { item_id: "msg_stand_in", output_index: 0, content_index: 0 };
  res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache" });
  const pause = () => new Promise((resolve) => setTimeout(resolve, plan.everyMs ?? 1));
  res.write(event("response.created", { response: responseObject(body, "in_progress", [], null) }));
  res.write(event("response.in_progress", { response: responseObject(body, "in_progress", [], null) }));
  res.write(event("response.output_item.added", { output_index: 0, item: message("", "in_progress") }));
  res.write(
    event("response.content_part.added", { ...where, part: { type: "output_text", text: "", annotations: [] } }),
  );
  for (const delta of pieces) {
    if (res.destroyed) return;
    res.write(event("response.output_text.delta", { ...where, delta, logprobs: [] }));
    plan.onEvent?.();
    await pause();
  }
  if (plan.end === "cut") {
    res.destroy();
    return;
  }
  if (plan.end === "stall") return; // the connection stays open; the relay's idle timeout must end it
  const part = { type: "output_text", text, annotations: [], logprobs: [] };
  res.write(event("response.output_text.done", { ...where, text, logprobs: [] }));
  res.write(event("response.content_part.done", { ...where, part }));
  res.write(event("response.output_item.done", { output_index: 0, item: message(text, "completed") }));
  const final = status === "completed" ? "response.completed" : "response.incomplete";
  res.end(event(final, { response: responseObject(body, status, [message(text, "completed")], usage) }));
}
