import { InvalidRequest } from "../../errors";
import { promptEstimate } from "../../metering/prices";
import type { ModelConfig } from "../proxy/config";
import { checkAllowedModel, checkHostedTool, checkServiceTier } from "../proxy/decide";
import type { ModelCall } from "../proxy/relay";
import type { ChatRequest } from "./schema";
import { usageOf, usageOfBody, usageStream } from "./usage";

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
 * Applies the server's rules to a client's request: default model and temperature, the model allowlist, what
 * costs more than tokens (service tier, audio output, web search), and the token cap. MAX_TOKENS caps what one
 * request may generate in all, so with `n` choices each gets at most ⌊MAX_TOKENS / n⌋. A client may send
 * `max_tokens`, `max_completion_tokens` or both; the smaller one is what it asked for (a server that reads
 * either would honour it), and only one goes upstream: `max_completion_tokens` when the client sent it
 * (OpenAI's current name), else `max_tokens` (which every OpenAI-compatible server understands). More choices
 * than MAX_TOKENS is a 400.
 */
export function prepareChatRequest(request: ChatRequest, config: ModelConfig): PreparedChat {
  const { max_tokens, max_completion_tokens, ...rest } = request;
  const model = request.model ?? config.OPENAI_MODEL;
  checkAllowedModel(model, config);
  const choices = request.n ?? 1;
  if (choices > config.MAX_TOKENS) {
    throw new InvalidRequest(`n: at most ${config.MAX_TOKENS} choices fit in MAX_TOKENS`, "too_many_choices", "n");
  }
  checkServiceTier(request.service_tier, config);
  if (request.web_search_options != null) checkHostedTool("web_search", "web_search_options", config);
  const audio = request.modalities?.includes("audio") ? "modalities" : request.audio != null ? "audio" : undefined;
  if (audio !== undefined && !config.AUDIO_OUTPUT) {
    throw new InvalidRequest(
      `${audio}: audio output is billed at rates of its own, and AUDIO_OUTPUT is not true`,
      "audio_not_allowed",
      audio,
    );
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

/**
 * A prepared chat request as the shared core relays it (src/features/proxy/relay.ts). The relay always asks
 * for usage on a stream (`stream_options.include_usage`); what the client did not ask for is removed again
 * (usageStream). A provider that refuses `stream_options` gets none, and its stream is charged the usage it
 * reports of its own accord, else an estimate.
 */
export function chatCall(prepared: PreparedChat): ModelCall {
  const stream = prepared.request.stream === true;
  const clientAsked = prepared.request.stream_options?.include_usage === true;
  return {
    path: "/chat/completions",
    model: prepared.request.model,
    promptTokens: promptEstimate(prepared.request),
    choices: prepared.choices,
    want: prepared.want,
    stream,
    body(model, cap, streamOptions) {
      const { stream_options, ...request } = { ...withOutputCap(prepared, cap), model };
      if (!streamOptions) return JSON.stringify(request);
      if (!stream) return JSON.stringify({ ...request, stream_options });
      return JSON.stringify({ ...request, stream_options: { ...stream_options, include_usage: true } });
    },
    usageOfBody,
    watch: (pricing, produced, onUsage, onDone) =>
      usageStream(
        clientAsked,
        produced,
        (reported) => {
          const used = usageOf(reported, pricing.model, pricing.price);
          if (used) onUsage(used);
        },
        onDone,
      ),
  };
}
