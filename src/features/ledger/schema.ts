import * as z from "zod";
import { flag } from "../../lib/config";
import { daySpanQuery } from "../../lib/day-span";
import { USER_ID_PATTERN } from "./identity";

/** Subscription tiers and how many months one period runs. */
export const TIER_MONTHS = { monthly: 1, quarterly: 3, yearly: 12 } as const;
export const tier = z.enum(["monthly", "quarterly", "yearly"]);
export type Tier = z.output<typeof tier>;

/** A SKU as the store accepts it (docs/api.md, "Billing and store"). */
export const sku = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, _ or -");

/** A user id; the same pattern Stripe accepts for `client_reference_id`, which it drops silently otherwise. */
export const userId = z.string().regex(USER_ID_PATTERN, "must be 1-200 letters, digits, _ or -");

/** An ISO 8601 time with an offset, stored in one canonical form (`toISOString`) so text order is time order. */
export const isoTime = z.iso
  .datetime({ offset: true })
  .transform((value) => new Date(value).toISOString())
  .refine((value) => value.length === 24, "must lie between years 0000 and 9999");

/** Why an admin granted or revoked: shown in the history. */
const reason = z.string().trim().min(1).max(500);

export const userQuery = z.object({ user_id: userId });

/**
 * `GET /entitlements/check`: `user_id` is required of the admin (and in public mode); a user token names its
 * own user, so there it may be left out, or be the token's `sub` or its ledger id.
 */
export const checkQuery = z.object({ user_id: z.string().min(1).max(1000).optional() });

/** Names one entitlement: `stripe:sub_…`, `admin:…` (the `source` of `/entitlements/check`). */
const sourceRef = z.string().min(1).max(300);

/** `POST /entitlements/grant`. */
export const grantBody = z.discriminatedUnion("type", [
  z.strictObject({
    user_id: userId,
    type: z.literal("subscription"),
    tier,
    expires_at: isoTime.optional(),
    reason: reason.optional(),
  }),
  z.strictObject({ user_id: userId, type: z.literal("purchase"), sku, reason: reason.optional() }),
]);

/** `POST /entitlements/revoke`. */
export const revokeBody = z.discriminatedUnion("type", [
  z.strictObject({ user_id: userId, type: z.literal("subscription"), tier, reason, source_ref: sourceRef.optional() }),
  z.strictObject({ user_id: userId, type: z.literal("purchase"), sku, reason, source_ref: sourceRef.optional() }),
]);

/** Who may call `GET /entitlements/check` without a credential, and with which admin token. */
export const checkConfig = z.object({ ENTITLEMENTS_PUBLIC_CHECK: flag() });

/** `GET /admin/payments`: a span of UTC days, both included. */
export const paymentsQuery = daySpanQuery({});
