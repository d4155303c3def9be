import { InvalidRequest } from "../../errors";
import { inputEstimate } from "../../metering/prices";
import { HOSTED_TOOLS, type HostedTool, type ModelConfig } from "../proxy/config";
import { checkAllowedModel, checkHostedTool, checkServiceTier } from "../proxy/decide";
import type { ModelCall } from "../proxy/relay";
import type { ResponsesRequest } from "./schema";
import { responseEvents, responseUsageOf, responseUsageOfBody } from "./usage";

/** Tools the caller's own code runs (or that only shape the answer): billed as tokens, like any answer. */
const CLIENT_TOOLS = new Set([
  "function",
  "custom",
  "namespace",
  "apply_patch",
  "local_shell",
  "computer",
  "computer_use_preview",
]);

/** Dated or preview names of hosted tools, by the tool RESPONSES_TOOLS calls them. */
const TOOL_ALIASES = new Map<string, HostedTool>([
  ["web_search_2025_08_26", "web_search"],
  ["web_search_preview", "web_search"],
  ["web_search_preview_2025_03_11", "web_search"],
]);

/** Refuses a tool OpenAI runs and bills per use unless RESPONSES_TOOLS allows it, and a tool type the relay does not know. */
function checkTools(tools: ResponsesRequest["tools"], config: ModelConfig): void {
  for (const [index, { type }] of (tools ?? []).entries()) {
    if (CLIENT_TOOLS.has(type)) continue;
    const param = `tools.${index}.type`;
    const hosted = TOOL_ALIASES.get(type) ?? HOSTED_TOOLS.find((tool) => tool === type);
    if (hosted === undefined) {
      throw new InvalidRequest(`${param}: "${type}" is not a tool type the relay knows`, "tool_not_allowed", param);
    }
    checkHostedTool(hosted, param, config);
  }
}

/**
 * A Responses request with the server's rules applied, as the shared core relays it: default model, the model
 * allowlist, and what costs more than tokens or keeps data decided:
 *
 * - `background: true` is refused: the answer would come after the request ends, where it cannot be metered;
 * - hosted tools only where RESPONSES_TOOLS lists them, `service_tier` only where SERVICE_TIERS does;
 * - `store` is false unless the caller asks (OpenAI's default is true), and `previous_response_id` and
 *   `conversation`, which read what OpenAI stored, need `store: true`;
 * - `max_output_tokens` is capped like chat's `max_tokens`: at most MAX_TOKENS, absent means MAX_TOKENS, and
 *   the value the admission reserved is what goes upstream.
 *
 * The typed events of a stream pass through unchanged; `response.completed` brings the usage.
 */
export function responsesCall(request: ResponsesRequest, config: ModelConfig): ModelCall {
  const model = request.model ?? config.OPENAI_MODEL;
  checkAllowedModel(model, config);
  if (request.background === true) {
    throw new InvalidRequest(
      "background: a background response runs after the request ends, where the relay cannot meter it",
      "background_not_supported",
      "background",
    );
  }
  const store = request.store === true;
  for (const field of ["previous_response_id", "conversation"] as const) {
    if (request[field] != null && !store) {
      throw new InvalidRequest(
        `${field}: reads what OpenAI stored, so it needs "store": true (the relay sends store false otherwise)`,
        "store_required",
        field,
      );
    }
  }
  checkServiceTier(request.service_tier, config);
  checkTools(request.tools, config);
  const want = Math.min(config.MAX_TOKENS, request.max_output_tokens ?? config.MAX_TOKENS);
  const stream = request.stream === true;
  const { input, instructions, tools, text, prompt, tool_choice } = request;
  return {
    path: "/responses",
    model,
    promptTokens: inputEstimate({ input, instructions, tools, text, prompt, tool_choice }),
    choices: 1,
    want,
    stream,
    body: (served, cap) => JSON.stringify({ ...request, model: served, store, max_output_tokens: cap }),
    usageOfBody: responseUsageOfBody,
    watch: (pricing, produced, onUsage, onDone) =>
      responseEvents(
        produced,
        (reported) => {
          const used = responseUsageOf(reported, pricing.model, pricing.price);
          if (used) onUsage(used);
        },
        onDone,
      ),
  };
}
