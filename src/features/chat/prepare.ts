import { InvalidRequest } from "../../errors";
import type { ChatConfig, ChatRequest } from "./schema";

/**
 * Applies the server's rules to a client's request: default model and temperature, token caps, model
 * allowlist. Without a cap in the request, `max_tokens` is set (understood by every OpenAI-compatible
 * server); a requested `max_tokens` or `max_completion_tokens` above MAX_TOKENS is lowered to it.
 */
export function prepareChatRequest(request: ChatRequest, config: ChatConfig): ChatRequest {
  const prepared: ChatRequest = { ...request };
  prepared.model = request.model ?? config.OPENAI_MODEL;
  prepared.temperature = request.temperature ?? config.TEMPERATURE;

  if (config.ALLOWED_MODELS.length > 0 && !config.ALLOWED_MODELS.includes(prepared.model)) {
    throw new InvalidRequest(`model: "${prepared.model}" is not in ALLOWED_MODELS`, "model_not_allowed");
  }

  const cap = config.MAX_TOKENS;
  const hasCompletionCap = request.max_completion_tokens != null;
  if (hasCompletionCap) prepared.max_completion_tokens = Math.min(request.max_completion_tokens ?? cap, cap);
  if (request.max_tokens != null || !hasCompletionCap) prepared.max_tokens = Math.min(request.max_tokens ?? cap, cap);
  if (prepared.max_tokens == null) delete prepared.max_tokens;
  if (prepared.max_completion_tokens == null) delete prepared.max_completion_tokens;
  return prepared;
}
