import { InvalidRequest } from "../../errors";
import type { HostedTool, ModelConfig } from "./config";

/**
 * What a request may ask for that costs more than its tokens, as configuration decides it (docs/api.md,
 * "What costs more than tokens"). Each refusal is a 400 whose `param` names the field.
 */

/** The model must be in ALLOWED_MODELS when it is set. */
export function checkAllowedModel(model: string, config: ModelConfig): void {
  if (config.ALLOWED_MODELS.length === 0 || config.ALLOWED_MODELS.includes(model)) return;
  throw new InvalidRequest(`model: "${model}" is not in ALLOWED_MODELS`, "model_not_allowed", "model");
}

/** `service_tier`: only the tiers SERVICE_TIERS lists (`priority` and `scale` cost more than the price table says). */
export function checkServiceTier(tier: string | null | undefined, config: ModelConfig): void {
  if (tier == null || config.SERVICE_TIERS.includes(tier)) return;
  throw new InvalidRequest(
    `service_tier: "${tier}" is not in SERVICE_TIERS (${config.SERVICE_TIERS.join(", ")})`,
    "service_tier_not_allowed",
    "service_tier",
  );
}

/** A built-in tool OpenAI runs and bills per call: only where RESPONSES_TOOLS lists it. */
export function checkHostedTool(tool: HostedTool, param: string, config: ModelConfig): void {
  if (config.RESPONSES_TOOLS.includes(tool)) return;
  throw new InvalidRequest(
    `${param}: the built-in tool ${tool} is billed per use and not in RESPONSES_TOOLS`,
    "tool_not_allowed",
    param,
  );
}
