import * as z from "zod";
import type { KeyScope } from "../../admin-api";
import { isoTime, userId } from "../ledger/schema";

/** What a relay key may be used for. */
export const SCOPES = ["chat", "trigger"] as const satisfies readonly KeyScope[];

/** `POST /admin/keys`. */
export const createKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  scopes: z
    .array(z.enum(SCOPES))
    .min(1)
    .max(SCOPES.length)
    .refine((scopes) => new Set(scopes).size === scopes.length, "must not repeat a scope")
    .default(["chat"]),
  user_id: userId.optional(),
  models: z.array(z.string().min(1).max(256)).min(1).max(100).optional(),
  monthly_token_budget: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  monthly_cost_budget_usd: z.number().positive().max(1_000_000_000).optional(),
  rate_limit_per_minute: z.number().int().min(1).max(1_000_000).optional(),
  expires_at: isoTime.optional(),
});
export type CreateKeyBody = z.output<typeof createKeyBody>;

/** The path of `POST /admin/keys/{id}/revoke`. */
export const keyPath = z.object({
  id: z.string().regex(/^key_[0-9a-f]{16}$/, "must be a key id (key_ and 16 hex digits)"),
});
