import { InvalidRequest } from "../../errors";
import type { ChatConfig, ChatRequest } from "./schema";

/**
 * Applies the server's rules to a client's request: default model and temperature, the model allowlist,
 * and the token cap. MAX_TOKENS caps what one request may generate in all, so with `n` choices each gets at
 * most ⌊MAX_TOKENS / n⌋: a requested `max_tokens` or `max_completion_tokens` above that is lowered to it,
 * and without either, `max_tokens` is set to it (every OpenAI-compatible server understands it). More
 * choices than MAX_TOKENS is a 400.
 */
export function prepareChatRequest(request: ChatRequest, config: ChatConfig): ChatRequest {
  const prepared: ChatRequest = { ...request };
  prepared.model = request.model ?? config.OPENAI_MODEL;
  prepared.temperature = request.temperature ?? config.TEMPERATURE;

  if (config.ALLOWED_MODELS.length > 0 && !config.ALLOWED_MODELS.includes(prepared.model)) {
    throw new InvalidRequest(`model: "${prepared.model}" is not in ALLOWED_MODELS`, "model_not_allowed");
  }

  const choices = request.n ?? 1;
  if (choices > config.MAX_TOKENS) {
    throw new InvalidRequest(`n: at most ${config.MAX_TOKENS} choices fit in MAX_TOKENS`, "too_many_choices");
  }
  const cap = Math.floor(config.MAX_TOKENS / choices);
  const hasCompletionCap = request.max_completion_tokens != null;
  if (hasCompletionCap) prepared.max_completion_tokens = Math.min(request.max_completion_tokens ?? cap, cap);
  if (request.max_tokens != null || !hasCompletionCap) prepared.max_tokens = Math.min(request.max_tokens ?? cap, cap);
  if (prepared.max_tokens == null) delete prepared.max_tokens;
  if (prepared.max_completion_tokens == null) delete prepared.max_completion_tokens;
  return prepared;
}
