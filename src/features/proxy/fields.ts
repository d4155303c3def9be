import * as z from "zod";
import { SERVICE_TIER_NAMES } from "./config";

/** Field schemas the OpenAI-compatible routes share (chat, responses, embeddings). */

export const tokenCount = z.number().int().positive().max(Number.MAX_SAFE_INTEGER).nullish();
export const shortText = (max: number) => z.string().max(max).nullish();
/** A JSON object whose inner shape the upstream validates (tools, response formats, message parts). */
export const typed = z.looseObject({ type: z.string().min(1).max(64) });
/** An object whose inner shape the upstream validates. */
export const anyObject = z.record(z.string(), z.unknown());

/** OpenAI's metadata: at most 16 pairs, keys of at most 64 characters, string values of at most 512. */
export const metadata = z
  .record(z.string().max(64), z.string().max(512))
  .refine((pairs) => Object.keys(pairs).length <= 16, "must have at most 16 keys")
  .nullish();
export const serviceTier = z.enum(SERVICE_TIER_NAMES).nullish();
export const reasoningEffort = z.enum(["none", "minimal", "low", "medium", "high", "xhigh", "max"]).nullish();
export const promptCacheRetention = z.enum(["in_memory", "24h"]).nullish();
