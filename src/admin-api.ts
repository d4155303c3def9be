/**
 * The shapes of the admin API's answers (docs/api.md), shared by the routes that build them and the operator
 * console (console/) that reads them. Types only, importing nothing: the console type-checks it with DOM
 * types and no Worker types, and a type import leaves nothing in either bundle.
 */

/**
 * One row of `GET /admin/usage`: the group's key and its totals, cost in USD. `cost_usd` is what the priced
 * requests cost, and null when none of the row's requests had a price (an unpriced model is never $0);
 * `unpriced_requests` and `estimated_requests` count the requests without a price and those charged an
 * estimate.
 */
export type UsageRow = {
  day?: string;
  subject?: string;
  model?: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number | null;
  unpriced_requests: number;
  estimated_requests: number;
};

/** What a relay key may be used for. */
export type KeyScope = "chat" | "trigger";

/** A relay key as the admin API shows it (never its secret or hash). */
export type KeyRecord = {
  id: string;
  name: string;
  scopes: KeyScope[];
  user_id: string | null;
  models: string[] | null;
  monthly_token_budget: number | null;
  monthly_cost_budget_usd: number | null;
  rate_limit_per_minute: number | null;
  expires_at: string | null;
  created_at: string;
  revoked_at: string | null;
};

/**
 * What a key used in one UTC month, as the budgets count it: tokens are prompt and completion together, the
 * cost is its priced requests', and `unpriced_requests` counts those whose model had no price.
 */
export type MonthUsage = {
  month: string;
  requests: number;
  tokens: number;
  cost_usd: number;
  unpriced_requests: number;
};

/** A key as `GET /admin/keys` lists it: its record and what it used this month. */
export type ListedKey = KeyRecord & { month_usage: MonthUsage };

/** One row of `audit_log` as `GET /admin/audit` shows it. */
export type AuditRow = { at: string; actor: string; action: string; target: string; outcome: string; dry_run: boolean };

/** How many records one actor's action had with one outcome (`GET /admin/audit/summary`). */
export type AuditCount = { actor: string; action: string; outcome: string; count: number };

/** How many events one payment source sent of one kind, on one UTC day (`GET /admin/payments`). */
export type PaymentCount = {
  day: string;
  source: string;
  type: string;
  entitlement: string;
  tier: string | null;
  sku: string | null;
  count: number;
};

/** An item as `GET /library` and the upload answer show it. */
export type LibraryItem = {
  key: string;
  title: string;
  size: number;
  content_type: string;
  uploaded_at: string;
  sku: string | null;
  tier: string | null;
};

/** `active`, `expired` (past `expires_at`) or `revoked` (docs/api.md, "Entitlements"). */
export type SubscriptionStatus = "active" | "expired" | "revoked";

/** One subscription source as `GET /entitlements/check` lists it. */
export type SubscriptionView = { tier: string; status: SubscriptionStatus; expires_at: string; source: string };

/** A user's entitlements as `GET /entitlements/check` shows them (and the library gates on). */
export type Entitlements = {
  has_access: boolean;
  /** The active subscription that runs longest; with none active, the one that ended last; else null. */
  subscription: { tier: string; status: SubscriptionStatus; expires_at: string } | null;
  /** Every subscription source: active ones first, then by expiry, latest first. */
  subscriptions: SubscriptionView[];
  /** One entry per SKU with an unrevoked copy, bought first at `purchased_at`: a refunded copy grants nothing. */
  purchases: Array<{ sku: string; purchased_at: string }>;
};

/** `GET /entitlements/check`: whose entitlements they are, the entitlements, and a sentence saying so. */
export type EntitlementsCheck = Entitlements & { user_id: string; message: string };

/** An event as `GET /entitlements/history` shows it: absent fields are left out, not null. */
export type HistoryEvent = {
  id: number;
  type: string;
  entitlement: string;
  source: string;
  source_event_id: string;
  source_ref?: string;
  tier?: string;
  sku?: string;
  expires_at?: string;
  reason?: string;
  created_at: string;
};

/** One MCP client's OAuth grant as `GET /admin/oauth/grants` shows it (docs/api.md, "OAuth grants"). */
export type GrantView = {
  id: string;
  client_id: string;
  /** The client's name as it registered or published it; null when its record or document cannot be read. */
  client_name: string | null;
  scopes: string[];
  created_at: string;
};
