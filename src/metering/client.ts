import type { AcquireResult, AuthRefusal, KeyView } from "./durable-object";
import type { Lease, LeaseReport, Limits, Money, Refusal, Usage } from "./state";

/**
 * The isolate's side of metering. A request takes its share (one slot, its worst-case reservation) from the
 * lease this isolate holds for its subject, and only asks the subject's Meter for a new lease when the old
 * one is spent or expired: at most one Durable Object call per request, none while a lease lasts. What the
 * requests really used goes back to the Meter with the next call, or on a timer when the lease runs out.
 */

/** Where a subject's Meter is, and how to keep a report alive after the answer. */
export type MeterAccess = {
  meter: () => DurableObjectStub<import("./durable-object").Meter>;
  waitUntil: (promise: Promise<unknown>) => void;
};

/** A request's admission: its reservation, and how to settle it with what it used. */
export type Admission = {
  /** The key's scopes, models and user, for a key subject. */
  key: KeyView | null;
  /** True when the subject has a cost budget: a model without a price cannot be metered against it. */
  costBudgeted: boolean;
  /** How long to wait for the slot (RATE_LIMIT_QUEUE_MS). */
  waitMs: number;
  /** Settles the reservation with what the request used (its reservation, when the usage never arrived). */
  settle(used: Usage): void;
  /** Gives the reservation back unused: the request never reached the upstream. */
  release(): void;
};

export class MeterRefused extends Error {
  constructor(readonly refusal: Refusal | AuthRefusal) {
    super(refusal.refused);
  }
}

type Entry = {
  lease: Lease;
  key: KeyView | null;
  secretHash: string | undefined;
  pool: { tokens: number | null; micros: number | null; slots: number };
  settled: LeaseReport["settled"];
  closed: boolean;
};

const entries = new Map<string, Entry>();
const acquiring = new Map<string, Promise<void>>();
const pending = new Map<string, LeaseReport[]>();
const flushing = new Set<string>();

const encoder = new TextEncoder();

function sameHash(a: string, b: string): boolean {
  const [x, y] = [encoder.encode(a), encoder.encode(b)];
  return x.length === y.length && crypto.subtle.timingSafeEqual(x, y);
}

function fits(entry: Entry, need: Money, now: number): boolean {
  const { pool } = entry;
  return (
    !entry.closed &&
    now < entry.lease.until &&
    pool.slots >= 1 &&
    (pool.tokens === null || pool.tokens >= need.tokens) &&
    (pool.micros === null || pool.micros >= need.micros)
  );
}

function today(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** Closes a lease: what it has left goes back, with what its finished requests used. */
function close(entry: Entry): LeaseReport {
  entry.closed = true;
  const report: LeaseReport = {
    leaseId: entry.lease.id,
    settled: entry.settled,
    released: { tokens: entry.pool.tokens ?? 0, micros: entry.pool.micros ?? 0 },
    unusedSlots: entry.pool.slots,
  };
  entry.settled = [];
  entry.pool = {
    tokens: entry.pool.tokens === null ? null : 0,
    micros: entry.pool.micros === null ? null : 0,
    slots: 0,
  };
  return report;
}

function takePending(subject: string): LeaseReport[] {
  const reports = pending.get(subject) ?? [];
  pending.delete(subject);
  return reports;
}

/** Sends a subject's waiting reports soon, in a call of their own (unless an acquire takes them first). */
function scheduleFlush(subject: string, access: MeterAccess, limits: Limits, delayMs: number): void {
  if (flushing.has(subject)) return;
  flushing.add(subject);
  access.waitUntil(
    new Promise((resolve) => setTimeout(resolve, delayMs)).then(async () => {
      flushing.delete(subject);
      const entry = entries.get(subject);
      if (entry && !entry.closed && Date.now() >= entry.lease.until) {
        entries.delete(subject);
        pending.set(subject, [...(pending.get(subject) ?? []), close(entry)]);
      }
      const reports = takePending(subject);
      if (reports.length > 0) await access.meter().report(subject, reports, limits);
      // A lease still running reports when it ends.
      const running = entries.get(subject);
      if (running && !running.closed)
        scheduleFlush(subject, access, limits, Math.max(0, running.lease.until - Date.now()) + 20);
    }),
  );
}

/**
 * Admits one request of `subject` that needs `need`, from this isolate's lease or a new one. A key subject
 * passes the SHA-256 of the secret presented: a lease answers only the secret the Meter checked.
 * Throws MeterRefused (unauthorized, rate_limited, budget_exceeded).
 */
export async function admit(
  subject: string,
  need: Money,
  limits: Limits,
  access: MeterAccess,
  secretHash?: string,
): Promise<Admission> {
  for (;;) {
    const entry = entries.get(subject);
    if (
      entry &&
      secretHash !== undefined &&
      entry.secretHash !== undefined &&
      !sameHash(secretHash, entry.secretHash)
    ) {
      throw new MeterRefused({ refused: "unauthorized" });
    }
    if (entry && fits(entry, need, Date.now())) return take(subject, entry, need, access, limits, entry.lease.waitMs);
    const running = acquiring.get(subject);
    if (running) {
      await running;
      continue;
    }
    let refusal: MeterRefused | undefined;
    const acquired = acquire(subject, need, limits, access, secretHash).catch((error: unknown) => {
      if (error instanceof MeterRefused) refusal = error;
      else throw error;
    });
    acquiring.set(subject, acquired);
    try {
      await acquired;
    } finally {
      acquiring.delete(subject);
    }
    if (refusal) throw refusal;
    const fresh = entries.get(subject);
    // The lease was granted for this request: take it before anyone else can.
    if (fresh && fits(fresh, need, Date.now())) return take(subject, fresh, need, access, limits, fresh.lease.waitMs);
  }
}

async function acquire(
  subject: string,
  need: Money,
  limits: Limits,
  access: MeterAccess,
  secretHash: string | undefined,
): Promise<void> {
  const old = entries.get(subject);
  const reports = takePending(subject);
  if (old && !old.closed) reports.push(close(old));
  entries.delete(subject);
  const leaseId = crypto.randomUUID();
  let result: AcquireResult;
  try {
    result = await access.meter().acquire({ subject, leaseId, need, secretHash, limits, reports });
  } catch (error) {
    // The reports did not arrive: keep them for the next call.
    pending.set(subject, [...reports, ...(pending.get(subject) ?? [])]);
    throw error;
  }
  if (!result.ok) throw new MeterRefused(result.refusal);
  const { lease } = result;
  entries.set(subject, {
    lease,
    key: result.key,
    secretHash,
    pool: { tokens: lease.money.tokens, micros: lease.money.micros, slots: lease.slots },
    settled: [],
    closed: false,
  });
  scheduleFlush(subject, access, limits, Math.max(0, lease.until - Date.now()) + 20);
}

function take(
  subject: string,
  entry: Entry,
  need: Money,
  access: MeterAccess,
  limits: Limits,
  waitMs: number,
): Admission {
  const { pool } = entry;
  pool.slots -= 1;
  if (pool.tokens !== null) pool.tokens -= need.tokens;
  if (pool.micros !== null) pool.micros -= need.micros;
  // Only the first request of a queued lease waits; the lease holds one slot then.
  entry.lease = { ...entry.lease, waitMs: 0 };
  let settled = false;
  const late = (report: Omit<LeaseReport, "leaseId" | "unusedSlots">) => {
    // The lease was closed while this request ran: its reservation is still open at the Meter.
    pending.set(subject, [...(pending.get(subject) ?? []), { leaseId: entry.lease.id, unusedSlots: 0, ...report }]);
    scheduleFlush(subject, access, limits, 0);
  };
  return {
    key: entry.key,
    costBudgeted: entry.lease.money.micros !== null,
    waitMs,
    settle(used) {
      if (settled) return;
      settled = true;
      const now = Date.now();
      const item = { reserved: need, used, day: today(now) };
      if (!entry.closed) entry.settled.push(item);
      else late({ settled: [item], released: { tokens: 0, micros: 0 } });
    },
    release() {
      if (settled) return;
      settled = true;
      if (entry.closed) return late({ settled: [], released: need });
      pool.slots += 1;
      if (pool.tokens !== null) pool.tokens += need.tokens;
      if (pool.micros !== null) pool.micros += need.micros;
    },
  };
}

/**
 * Records usage of a subject that has no lease (RELAY_SECRET: limited per IP, not budgeted). Reports go to
 * the subject's Meter in batches, at most about once a second per isolate.
 */
export function recordUsage(subject: string, used: Usage, limits: Limits, access: MeterAccess): void {
  const none = { tokens: 0, micros: 0 };
  const report: LeaseReport = {
    leaseId: "none",
    settled: [{ reserved: none, used, day: today(Date.now()) }],
    released: none,
    unusedSlots: 0,
  };
  pending.set(subject, [...(pending.get(subject) ?? []), report]);
  scheduleFlush(subject, access, limits, 1000);
}

/** Forgets this isolate's lease of a subject (a revoked key), so its next request asks the Meter. */
export function forgetLease(subject: string): void {
  entries.delete(subject);
}
