import { InvalidRequest } from "../../errors";
import type { ChatConfig, ChatRequest } from "./schema";

/** The field that carries a request's output cap upstream: the one the client used. */
export type OutputCapField = "max_tokens" | "max_completion_tokens";

/**
 * A request with the server's rules applied, and its output cap taken out: the cap goes upstream in exactly
 * one field, `capField`, holding the value its admission reserved (`withOutputCap`).
 */
export type PreparedChat = {
  request: Omit<ChatRequest, OutputCapField> & { model: string };
  /** The output tokens per choice the request asks for, within MAX_TOKENS. */
  want: number;
  choices: number;
  capField: OutputCapField;
};

/**
 * Applies the server's rules to a client's request: default model and temperature, the model allowlist, and
 * the token cap. MAX_TOKENS caps what one request may generate in all, so with `n` choices each gets at most
 * ⌊MAX_TOKENS / n⌋. A client may send `max_tokens`, `max_completion_tokens` or both; the smaller one is what
 * it asked for (a server that reads either would honour it), and only one goes upstream:
 * `max_completion_tokens` when the client sent it (OpenAI's current name), else `max_tokens` (which every
 * OpenAI-compatible server understands). More choices than MAX_TOKENS is a 400.
 */
export function prepareChatRequest(request: ChatRequest, config: ChatConfig): PreparedChat {
  const { max_tokens, max_completion_tokens, ...rest } = request;
  const model = request.model ?? config.OPENAI_MODEL;
  if (config.ALLOWED_MODELS.length > 0 && !config.ALLOWED_MODELS.includes(model)) {
    throw new InvalidRequest(`model: "${model}" is not in ALLOWED_MODELS`, "model_not_allowed");
  }
  const choices = request.n ?? 1;
  if (choices > config.MAX_TOKENS) {
    throw new InvalidRequest(`n: at most ${config.MAX_TOKENS} choices fit in MAX_TOKENS`, "too_many_choices");
  }
  const asked = [max_tokens, max_completion_tokens].filter((cap): cap is number => cap != null);
  return {
    request: { ...rest, model, temperature: request.temperature ?? config.TEMPERATURE },
    want: Math.min(Math.floor(config.MAX_TOKENS / choices), ...asked),
    choices,
    capField: max_completion_tokens != null ? "max_completion_tokens" : "max_tokens",
  };
}

/** The request as it goes upstream: its one output cap set to `cap`. */
export function withOutputCap(prepared: PreparedChat, cap: number): ChatRequest {
  return { ...prepared.request, [prepared.capField]: cap };
}
