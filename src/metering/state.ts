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

/**
 * What one request used: as the upstream reported it, or `estimated` from what it streamed when no report came.
 * `priced` is false for a model the relay has no price for (`micros` is 0 then, and means nothing).
 */
export type Usage = {
  model: string;
  promptTokens: number;
  completionTokens: number;
  micros: number;
  priced: boolean;
  estimated: boolean;
};

/** Usage totals of one UTC day and model; `unpriced` and `estimated` count requests of those kinds. */
export type UsageTotals = {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  micros: number;
  unpriced: number;
  estimated: number;
};

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
  /**
   * What the subject's limits looked like when the lease was granted, for the answers' rate-limit headers: its
   * requests per minute, what is left of them after the lease's slots and when they are whole again, and its
   * monthly token budget with what was left of it before the lease (null without one).
   */
  view: {
    perMinute: number;
    remaining: number;
    resetMs: number;
    tokens: { budget: number; left: number } | null;
  };
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
 * Grants a lease for a request whose worst case is `need` and that is worth sending for no less than `least`
 * (its prompt and the shortest answer), or refuses: the budget is checked first (a refusal takes no slot),
 * then the rate. When what is left covers `need`, the lease takes about a quarter of it in whole requests and
 * up to the expected requests of LEASE_MS as slots; when it covers only `least`, a solo lease holds what is
 * left (the request's output cap is lowered to it); below `least` the request is refused. Unused slots and
 * money come back with the report. A `solo` lease holds exactly one request: what an isolate asks for while
 * its own larger lease is still on the way, so that requests arriving together do not each hold a second's
 * worth.
 */
export function grant(
  state: MeterState,
  id: string,
  need: Money,
  least: Money,
  limits: Limits,
  now: number,
  solo = false,
): { state: MeterState; lease: Lease } | { state: MeterState; refusal: Refusal } {
  const current = rolled(state, now);
  const left = available(current, limits.budget);
  const covers = (money: Money) => money.tokens <= left.tokens && money.micros <= left.micros;
  if (!covers(least)) {
    return { state: current, refusal: { refused: "budget_exceeded", resetAt: periodEnd(now) } };
  }
  const decision = gcra(current.tat, now, limits.perMinute, 60_000, limits.queueMs);
  if (!decision.allowed) {
    return {
      state: current,
      refusal: { refused: "rate_limited", retryAfterMs: decision.retryAfterMs, perMinute: limits.perMinute },
    };
  }
  // A request that only fits cut down gets what is left, alone.
  const alone = solo || !covers(need);
  // A queued request waits for its own slot; it takes no more.
  const wanted = decision.waitMs > 0 || alone ? 1 : Math.max(1, Math.ceil((limits.perMinute * LEASE_MS) / 60_000));
  const slots = Math.min(1 + decision.remaining, wanted, 1000);
  const interval = 60_000 / limits.perMinute;
  const tat = decision.tat + (slots - 1) * interval;
  const portion = (kind: keyof Money) => {
    if (limits.budget[kind] === undefined) return null;
    return alone ? Math.min(need[kind], left[kind]) : share(left[kind], need[kind]);
  };
  const tokens = portion("tokens");
  const micros = portion("micros");
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
    view: {
      perMinute: limits.perMinute,
      remaining: Math.max(0, decision.remaining - (slots - 1)),
      resetMs: Math.max(0, tat - now),
      tokens: limits.budget.tokens === undefined ? null : { budget: limits.budget.tokens, left: left.tokens },
    },
  };
  return { state: next, lease };
}

/** What an isolate reports about a lease: requests that finished, and what it gives back. */
export type LeaseReport = {
  leaseId: string;
  /**
   * Finished requests: what each took of the lease's money (its reservation, or what it used where the
   * isolate gave the rest back to the lease at once), and what it used (on `day`, UTC `YYYY-MM-DD`).
   */
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
  const lease = Object.hasOwn(current.leases, report.leaseId) ? current.leases[report.leaseId] : undefined;
  const reserved = report.settled.reduce(
    (sum, item) => ({ tokens: sum.tokens + item.reserved.tokens, micros: sum.micros + item.reserved.micros }),
    report.released,
  );
  const used = report.settled.reduce(
    (sum, item) => ({
      tokens: sum.tokens + item.used.promptTokens + item.used.completionTokens,
      micros: sum.micros + (item.used.priced ? item.used.micros : 0),
    }),
    { tokens: 0, micros: 0 },
  );
  const usage = { ...current.usage };
  for (const { used: u, day } of report.settled) {
    const key = `${day}|${u.model}`;
    const before = totalsOf(usage, key);
    usage[key] = {
      requests: before.requests + 1,
      promptTokens: before.promptTokens + u.promptTokens,
      completionTokens: before.completionTokens + u.completionTokens,
      micros: before.micros + (u.priced ? u.micros : 0),
      unpriced: before.unpriced + (u.priced ? 0 : 1),
      estimated: before.estimated + (u.estimated ? 1 : 0),
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

/** The totals of a `day|model` key; zero when there are none (and for totals stored before a field existed). */
export function totalsOf(usage: Record<string, UsageTotals>, key: string): UsageTotals {
  const totals = Object.hasOwn(usage, key) ? usage[key] : undefined;
  return {
    requests: totals?.requests ?? 0,
    promptTokens: totals?.promptTokens ?? 0,
    completionTokens: totals?.completionTokens ?? 0,
    micros: totals?.micros ?? 0,
    unpriced: totals?.unpriced ?? 0,
    estimated: totals?.estimated ?? 0,
  };
}

/** The larger share of its budgets the subject has committed this month, in percent (0 without a budget). */
export function percentUsed(state: MeterState, budget: Budget): number {
  const parts = [
    budget.tokens ? (state.committed.tokens / budget.tokens) * 100 : 0,
    budget.micros ? (state.committed.micros / budget.micros) * 100 : 0,
  ];
  return Math.max(...parts);
}

/** A finite, non-negative safe integer: the only kind of number a Meter stores. */
function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Money whose parts are both counts. */
export function isMoney(value: unknown): value is Money {
  if (typeof value !== "object" || value === null) return false;
  const { tokens, micros } = value as Partial<Money>;
  return isCount(tokens) && isCount(micros);
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function isUsage(value: unknown): value is Usage {
  if (typeof value !== "object" || value === null) return false;
  const usage = value as Partial<Usage>;
  return (
    typeof usage.model === "string" &&
    usage.model.length > 0 &&
    usage.model.length <= 256 &&
    isCount(usage.promptTokens) &&
    isCount(usage.completionTokens) &&
    isCount(usage.micros) &&
    typeof usage.priced === "boolean" &&
    typeof usage.estimated === "boolean"
  );
}

/**
 * Whether a report holds only what a Meter may store: counts, days and model names. Checked before anything
 * of it is applied, so that no NaN, negative or fractional number ever reaches a Meter's state.
 */
export function isValidReport(report: LeaseReport): boolean {
  return (
    typeof report === "object" &&
    report !== null &&
    typeof report.leaseId === "string" &&
    report.leaseId.length <= 64 &&
    Array.isArray(report.settled) &&
    report.settled.every(
      (item) => isMoney(item?.reserved) && isUsage(item.used) && typeof item.day === "string" && DAY.test(item.day),
    ) &&
    isMoney(report.released) &&
    isCount(report.unusedSlots)
  );
}
