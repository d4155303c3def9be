import { gcra } from "../rate-limit/gcra";

/**
 * The pure bookkeeping of one metered subject (a relay key, a user): its rate, its monthly budget and the
 * leases it has handed to isolates. The Meter Durable Object stores this state and applies these functions;
 * they take `now`, so tests move the clock.
 *
 * A lease is a share of the subject's rate and budget that one isolate spends locally for up to LEASE_MS.
 * Granting it reserves its whole amount; the isolate reports back what its requests really used and returns
 * what is left. An amount that never comes back (an isolate that died) stays spent: the budget may be
 * under-used, never over-spent.
 */

/** Tokens and integer micro-dollars (1e-6 USD). */
export type Money = { tokens: number; micros: number };

/** A budget: either part may be absent (no limit of that kind). */
export type Budget = { tokens?: number; micros?: number };

/** What a subject may do: requests per minute, a monthly budget, and how long a request may queue. */
export type Limits = { perMinute: number; budget: Budget; queueMs: number };

/** How long a lease is good for: revoking a key takes effect everywhere within this time. */
export const LEASE_MS = 1000;
/** The budget thresholds, in percent, that send an alert once per subject and month. */
export const ALERT_THRESHOLDS = [50, 80, 100] as const;

/** What one request used, as the upstream reported it (or its reservation, when no report came). */
export type Usage = { model: string; promptTokens: number; completionTokens: number; micros: number };

/** Usage totals of one UTC day and model. */
export type UsageTotals = { requests: number; promptTokens: number; completionTokens: number; micros: number };

export type MeterState = {
  /** GCRA's theoretical arrival time. */
  tat: number;
  /** The budget month, `YYYY-MM` (UTC). */
  period: string;
  /** What this month's requests really used. */
  committed: Money;
  /** What open leases of this month hold. */
  reserved: Money;
  /** Alert thresholds already sent this month. */
  alerted: number[];
  /** Open leases: what each still holds, and its month. */
  leases: Record<string, { period: string; open: Money; slots: number }>;
  /** Usage by `day|model`, what the D1 `usage_daily` rows are written from. */
  usage: Record<string, UsageTotals>;
};

export function emptyState(now: number): MeterState {
  return {
    tat: 0,
    period: periodOf(now),
    committed: { tokens: 0, micros: 0 },
    reserved: { tokens: 0, micros: 0 },
    alerted: [],
    leases: {},
    usage: {},
  };
}

/** The UTC month of a time, `YYYY-MM`. */
export function periodOf(now: number): string {
  return new Date(now).toISOString().slice(0, 7);
}

/** When the budget month of `now` ends: the first instant of the next UTC month. */
export function periodEnd(now: number): number {
  const date = new Date(now);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}

/** A lease as the isolate gets it. `money` null: the subject has no budget of that kind. */
export type Lease = {
  id: string;
  period: string;
  until: number;
  slots: number;
  money: { tokens: number | null; micros: number | null };
  /** How long the first request must wait for its slot (RATE_LIMIT_QUEUE_MS), 0 usually. */
  waitMs: number;
};

export type Refusal =
  | { refused: "rate_limited"; retryAfterMs: number; perMinute: number }
  | { refused: "budget_exceeded"; resetAt: number };

function rolled(state: MeterState, now: number): MeterState {
  const period = periodOf(now);
  if (period === state.period) return state;
  return { ...state, period, committed: { tokens: 0, micros: 0 }, reserved: { tokens: 0, micros: 0 }, alerted: [] };
}

function available(state: MeterState, budget: Budget): { tokens: number; micros: number } {
  return {
    tokens:
      budget.tokens === undefined
        ? Number.POSITIVE_INFINITY
        : budget.tokens - state.committed.tokens - state.reserved.tokens,
    micros:
      budget.micros === undefined
        ? Number.POSITIVE_INFINITY
        : budget.micros - state.committed.micros - state.reserved.micros,
  };
}

/**
 * About a quarter of what is left, in whole requests of this size (at least one): few round trips, little held
 * by one isolate, and no remainder too small for a request.
 */
function share(left: number, need: number): number {
  if (need === 0) return Math.floor(left / 4);
  return Math.min(left, need * Math.max(1, Math.floor(left / 4 / need)));
}

/**
 * Grants a lease for a request that needs `need` (its worst case) and one request slot, or refuses: the
 * budget is checked first (a refusal takes no slot), then the rate. A lease takes up to the expected
 * requests of LEASE_MS as slots; unused slots and money come back with the report. A `solo` lease holds
 * exactly one request: what an isolate asks for while its own larger lease is still on the way, so that
 * requests arriving together do not each hold a second's worth.
 */
export function grant(
  state: MeterState,
  id: string,
  need: Money,
  limits: Limits,
  now: number,
  solo = false,
): { state: MeterState; lease: Lease } | { state: MeterState; refusal: Refusal } {
  const current = rolled(state, now);
  const left = available(current, limits.budget);
  if (need.tokens > left.tokens || need.micros > left.micros) {
    return { state: current, refusal: { refused: "budget_exceeded", resetAt: periodEnd(now) } };
  }
  const decision = gcra(current.tat, now, limits.perMinute, 60_000, limits.queueMs);
  if (!decision.allowed) {
    return {
      state: current,
      refusal: { refused: "rate_limited", retryAfterMs: decision.retryAfterMs, perMinute: limits.perMinute },
    };
  }
  // A queued request waits for its own slot; it takes no more.
  const wanted = decision.waitMs > 0 || solo ? 1 : Math.max(1, Math.ceil((limits.perMinute * LEASE_MS) / 60_000));
  const slots = Math.min(1 + decision.remaining, wanted, 1000);
  const interval = 60_000 / limits.perMinute;
  const tat = decision.tat + (slots - 1) * interval;
  const tokens = limits.budget.tokens === undefined ? null : solo ? need.tokens : share(left.tokens, need.tokens);
  const micros = limits.budget.micros === undefined ? null : solo ? need.micros : share(left.micros, need.micros);
  const open = { tokens: tokens ?? 0, micros: micros ?? 0 };
  const next: MeterState = {
    ...current,
    tat,
    reserved: { tokens: current.reserved.tokens + open.tokens, micros: current.reserved.micros + open.micros },
    leases: { ...current.leases, [id]: { period: current.period, open, slots } },
  };
  const lease: Lease = {
    id,
    period: current.period,
    until: now + LEASE_MS,
    slots,
    money: { tokens, micros },
    waitMs: decision.waitMs,
  };
  return { state: next, lease };
}

/** What an isolate reports about a lease: requests that finished, and what it gives back. */
export type LeaseReport = {
  leaseId: string;
  /** Finished requests: what each reserved, and what it used (on `day`, UTC `YYYY-MM-DD`). */
  settled: Array<{ reserved: Money; used: Usage; day: string }>;
  /** Money never reserved by a request, and slots never used: given back. */
  released: Money;
  unusedSlots: number;
};

/**
 * Applies a report: reservations become what was really used, returned money and slots become available
 * again, usage totals grow. Returns the alert thresholds the committed spend has now crossed (each once a
 * month). A report about a lease the state does not know (already closed) still counts its usage.
 */
export function applyReport(
  state: MeterState,
  report: LeaseReport,
  limits: Limits,
  now: number,
): { state: MeterState; alerts: number[] } {
  const current = rolled(state, now);
  const lease = current.leases[report.leaseId];
  const reserved = report.settled.reduce(
    (sum, item) => ({ tokens: sum.tokens + item.reserved.tokens, micros: sum.micros + item.reserved.micros }),
    report.released,
  );
  const used = report.settled.reduce(
    (sum, item) => ({
      tokens: sum.tokens + item.used.promptTokens + item.used.completionTokens,
      micros: sum.micros + item.used.micros,
    }),
    { tokens: 0, micros: 0 },
  );
  const usage = { ...current.usage };
  for (const { used: u, day } of report.settled) {
    const key = `${day}|${u.model}`;
    const before = usage[key] ?? { requests: 0, promptTokens: 0, completionTokens: 0, micros: 0 };
    usage[key] = {
      requests: before.requests + 1,
      promptTokens: before.promptTokens + u.promptTokens,
      completionTokens: before.completionTokens + u.completionTokens,
      micros: before.micros + u.micros,
    };
  }
  let next: MeterState = { ...current, usage };
  const thisMonth = lease === undefined || lease.period === current.period;
  if (lease) {
    const open = {
      tokens: Math.max(0, lease.open.tokens - reserved.tokens),
      micros: Math.max(0, lease.open.micros - reserved.micros),
    };
    // Unused slots were never used: undo them, so a lease never costs the subject requests it did not make.
    const unused = Math.min(report.unusedSlots, lease.slots);
    next.tat -= unused * (60_000 / limits.perMinute);
    const leases = { ...next.leases };
    if (open.tokens === 0 && open.micros === 0) delete leases[report.leaseId];
    else leases[report.leaseId] = { ...lease, open, slots: lease.slots - unused };
    next = { ...next, leases };
    if (thisMonth) {
      next.reserved = {
        tokens: Math.max(0, next.reserved.tokens - (lease.open.tokens - open.tokens)),
        micros: Math.max(0, next.reserved.micros - (lease.open.micros - open.micros)),
      };
    }
  }
  if (!thisMonth) return { state: next, alerts: [] };
  next.committed = { tokens: next.committed.tokens + used.tokens, micros: next.committed.micros + used.micros };
  const crossed = ALERT_THRESHOLDS.filter((t) => !next.alerted.includes(t) && percentUsed(next, limits.budget) >= t);
  next.alerted = [...next.alerted, ...crossed];
  return { state: next, alerts: crossed };
}

/** The larger share of its budgets the subject has committed this month, in percent (0 without a budget). */
export function percentUsed(state: MeterState, budget: Budget): number {
  const parts = [
    budget.tokens ? (state.committed.tokens / budget.tokens) * 100 : 0,
    budget.micros ? (state.committed.micros / budget.micros) * 100 : 0,
  ];
  return Math.max(...parts);
}
