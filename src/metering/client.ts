import { sameDigest } from "../lib/constant-time";
import { capWithin, costAt, type Demand, fitsIn } from "./demand";
import type { AcquireResult, AuthRefusal, KeyView } from "./durable-object";
import {
  LEASE_MS,
  type Lease,
  type LeaseReport,
  type Limits,
  type Money,
  periodEnd,
  type Refusal,
  type Usage,
} from "./state";

/**
 * The isolate's side of metering. A request takes its share (one slot, its worst-case reservation) from a
 * lease this isolate holds for its subject, and only asks the subject's Meter for a new lease when none has
 * room: at most one Durable Object call per request, none while a lease lasts. What the requests really used
 * goes back to the Meter with the next call, or on a timer when the lease runs out.
 *
 * What a finished request did not use goes back into its lease at once, so the next request of the isolate can
 * spend it: only what requests really used, and what requests still running hold, is ever out of reach.
 *
 * A request never awaits another request's promise: workerd runs each request in a context of its own, and
 * a request waiting on I/O that only another request performs is cancelled as hung. Requests that find no
 * room while another asks for a lease wait for it on their own timers (roomSoon), then ask alone.
 */

/** Where a subject's Meter is, and how to keep a report alive after the answer. */
export type MeterAccess = {
  meter: () => DurableObjectStub<import("./durable-object").Meter>;
  waitUntil: (promise: Promise<unknown>) => void;
};

/**
 * A subject's limits as one request found them, for the answer's rate-limit headers: requests per minute, how
 * many are left and when the rate is whole again; the monthly token budget, what is left of it and when it resets.
 */
export type LimitsView = {
  perMinute: number;
  remaining: number;
  resetMs: number;
  tokens: { budget: number; remaining: number; resetMs: number } | null;
};

/** A request's admission: its reservation, and how to settle it with what it used. */
export type Admission = {
  /**
   * The output cap per choice the request may send upstream: what it wanted, or less where the budget cannot
   * pay for more (never fewer than its demand's `least`).
   */
  cap: number;
  /** The key's scopes, models and user, for a key subject. */
  key: KeyView | null;
  /** True when the subject has a cost budget: a model without a price cannot be metered against it. */
  costBudgeted: boolean;
  /** How long to wait for the slot (RATE_LIMIT_QUEUE_MS). */
  waitMs: number;
  limits: LimitsView;
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

type Held = {
  lease: Lease;
  key: KeyView | null;
  secretHash: string | undefined;
  pool: { tokens: number | null; micros: number | null; slots: number };
  settled: LeaseReport["settled"];
  /** Requests admitted from this lease that have not settled yet. */
  running: number;
  closed: boolean;
  /** The next lease has been asked for. */
  renewing: boolean;
};

/** How long a request waits for a lease another request of its isolate is asking for, before asking itself. */
const WAIT_FOR_LEASE_MS = 100;

/** The leases this isolate holds, per subject. */
const held = new Map<string, Held[]>();
/** Reports not yet sent, per subject: they go with the next call to the subject's Meter. */
const pending = new Map<string, LeaseReport[]>();
/** Subjects with a flush of their pending reports already scheduled. */
const flushing = new Set<string>();
/** Subjects whose Meter this isolate is asking for a lease of the usual size right now. */
const asking = new Set<string>();

/** Whether a lease can admit a request that needs `need`, now. */
function fits(entry: Held, need: Money, now: number): boolean {
  return !entry.closed && now < entry.lease.until && entry.pool.slots >= 1 && fitsIn(need, entry.pool);
}

function today(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

function addPending(subject: string, reports: LeaseReport[]): void {
  if (reports.length === 0) return;
  const waiting = pending.get(subject);
  if (waiting) waiting.push(...reports);
  else pending.set(subject, [...reports]);
}

function takePending(subject: string): LeaseReport[] {
  const reports = pending.get(subject) ?? [];
  pending.delete(subject);
  return reports;
}

/** Closes a lease: what it has left goes back, with what its finished requests used. */
function close(entry: Held): LeaseReport {
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

/** Closes the subject's leases that `shouldClose` picks, and returns their reports. */
function closeWhere(subject: string, shouldClose: (entry: Held) => boolean): LeaseReport[] {
  const entries = held.get(subject) ?? [];
  const reports = entries.filter((entry) => !entry.closed && shouldClose(entry)).map(close);
  const open = entries.filter((entry) => !entry.closed);
  if (open.length > 0) held.set(subject, open);
  else held.delete(subject);
  return reports;
}

/**
 * Sends the subject's pending reports, and those of its leases that have run out, to its Meter; unless a
 * lease of the subject is still open: then they go with its next call, or with its own flush at its end.
 */
async function flush(subject: string, access: MeterAccess, limits: Limits): Promise<void> {
  const now = Date.now();
  addPending(
    subject,
    closeWhere(subject, (entry) => now >= entry.lease.until),
  );
  if (held.has(subject)) return;
  const reports = takePending(subject);
  if (reports.length === 0) return;
  try {
    await access.meter().report(subject, reports, limits);
  } catch {
    // Not delivered: the next call to this Meter carries them.
    addPending(subject, reports);
  }
}

/** Flushes the subject's reports after `delayMs`, kept alive by the request that asks. */
function flushAfter(subject: string, access: MeterAccess, limits: Limits, delayMs: number): void {
  access.waitUntil(new Promise((resolve) => setTimeout(resolve, delayMs)).then(() => flush(subject, access, limits)));
}

/** Flushes the subject's pending reports soon, once, however many requests ask meanwhile. */
function flushSoon(subject: string, access: MeterAccess, limits: Limits, delayMs: number): void {
  if (flushing.has(subject)) return;
  flushing.add(subject);
  access.waitUntil(
    new Promise((resolve) => setTimeout(resolve, delayMs)).then(() => {
      flushing.delete(subject);
      return flush(subject, access, limits);
    }),
  );
}

/**
 * Waits, on this request's own timers, while another request asks the subject's Meter for a lease, and
 * returns room in it; undefined when that lease has no room for this request or takes longer than
 * WAIT_FOR_LEASE_MS. (A request must not await another request's promise: workerd would cancel it as hung.)
 */
async function roomSoon(subject: string, need: Money): Promise<Held | undefined> {
  const deadline = Date.now() + WAIT_FOR_LEASE_MS;
  for (let pause = 1; asking.has(subject) && Date.now() < deadline; pause = Math.min(pause * 2, 16)) {
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  return roomFor(subject, need);
}

function roomFor(subject: string, need: Money): Held | undefined {
  const now = Date.now();
  return held.get(subject)?.find((entry) => fits(entry, need, now));
}

/**
 * Admits one request of `subject` with `demand`, from a lease of this isolate or a new one: whole when a
 * lease has room for what it wants, else with its output cap lowered to what the subject's Meter can still
 * give it. A key subject passes the SHA-256 of the secret presented: a lease answers only the secret the Meter
 * checked. Throws MeterRefused (unauthorized, rate_limited, budget_exceeded).
 */
export async function admit(
  subject: string,
  demand: Demand,
  limits: Limits,
  access: MeterAccess,
  secretHash?: string,
): Promise<Admission> {
  const need = costAt(demand, demand.want);
  // Another request of this isolate may be asking for a lease right now: waiting for it beats a call of
  // one's own (a burst on a cold subject makes one call, not one per request).
  const room = roomFor(subject, need) ?? (asking.has(subject) ? await roomSoon(subject, need) : undefined);
  if (room) {
    // A lease answers only the secret its Meter checked.
    if (secretHash !== undefined && room.secretHash !== undefined && !sameDigest(secretHash, room.secretHash)) {
      throw new MeterRefused({ refused: "unauthorized" });
    }
    return take(subject, room, demand, access, limits);
  }
  const result = await requestLease(subject, demand, limits, access, secretHash);
  if (result.ok) return take(subject, result.entry, demand, access, limits);
  // A lease granted to this isolate meanwhile may hold what the Meter no longer has to give.
  const { refused } = result.refusal;
  const later = refused === "budget_exceeded" || refused === "rate_limited" ? roomFor(subject, need) : undefined;
  if (later) return take(subject, later, demand, access, limits);
  throw new MeterRefused(result.refusal);
}

/**
 * Asks the subject's Meter for a lease, sending along the reports of leases that ran out or cannot pay for
 * this request (so that the Meter decides with all the money there is), and adds the lease to this
 * isolate's. While a lease of the usual size is on its way, others ask for just their own request (`solo`),
 * so that requests arriving together do not each take a second's worth.
 */
async function requestLease(
  subject: string,
  demand: Demand,
  limits: Limits,
  access: MeterAccess,
  secretHash: string | undefined,
): Promise<{ ok: true; entry: Held } | { ok: false; refusal: Refusal | AuthRefusal }> {
  const now = Date.now();
  const need = costAt(demand, demand.want);
  const least = costAt(demand, demand.least);
  const reports = [
    ...takePending(subject),
    ...closeWhere(subject, (entry) => now >= entry.lease.until || entry.pool.slots < 1 || !fitsIn(need, entry.pool)),
  ];
  const solo = asking.has(subject);
  if (!solo) asking.add(subject);
  let result: AcquireResult;
  try {
    const leaseId = crypto.randomUUID();
    result = await access.meter().acquire({ subject, leaseId, need, least, secretHash, limits, reports, solo });
  } catch (error) {
    addPending(subject, reports);
    throw error;
  } finally {
    if (!solo) asking.delete(subject);
  }
  if (!result.ok) return result;
  const { lease } = result;
  const entry: Held = {
    lease,
    key: result.key,
    secretHash,
    pool: { tokens: lease.money.tokens, micros: lease.money.micros, slots: lease.slots },
    settled: [],
    running: 0,
    closed: false,
    renewing: false,
  };
  held.set(subject, [...(held.get(subject) ?? []), entry]);
  flushAfter(subject, access, limits, Math.max(0, lease.until - Date.now()) + 20);
  return { ok: true, entry };
}

/**
 * Asks for the next lease in the background when this one is running low (a quarter of its slots or its
 * time left, or room for fewer than two more such requests), so that a steady stream of requests never
 * waits for the Meter. A refusal here changes nothing but a revoked key, whose leases close at once.
 */
function renewIfLow(subject: string, entry: Held, demand: Demand, limits: Limits, access: MeterAccess): void {
  if (entry.renewing || entry.closed || asking.has(subject)) return;
  const { pool, lease } = entry;
  const need = costAt(demand, demand.want);
  const low =
    pool.slots < Math.max(1, lease.slots / 4) ||
    lease.until - Date.now() < LEASE_MS / 4 ||
    (pool.tokens !== null && pool.tokens < 2 * need.tokens) ||
    (pool.micros !== null && pool.micros < 2 * need.micros);
  if (!low) return;
  entry.renewing = true;
  access.waitUntil(
    requestLease(subject, demand, limits, access, entry.secretHash).then(
      (result) => {
        if (!result.ok && result.refusal.refused === "unauthorized") forgetLease(subject);
      },
      () => undefined,
    ),
  );
}

/** Gives `money` back to a pool (kinds without a budget stay unlimited). */
function refill(pool: Held["pool"], money: Money): void {
  if (pool.tokens !== null) pool.tokens += money.tokens;
  if (pool.micros !== null) pool.micros += money.micros;
}

/** Takes from a pool at most what it holds of `money`, and returns what it took. */
function drain(pool: Held["pool"], money: Money): Money {
  const taken = {
    tokens: pool.tokens === null ? money.tokens : Math.min(money.tokens, Math.max(0, pool.tokens)),
    micros: pool.micros === null ? money.micros : Math.min(money.micros, Math.max(0, pool.micros)),
  };
  if (pool.tokens !== null) pool.tokens -= taken.tokens;
  if (pool.micros !== null) pool.micros -= taken.micros;
  return taken;
}

function take(subject: string, entry: Held, demand: Demand, access: MeterAccess, limits: Limits): Admission {
  const { pool } = entry;
  const waitMs = entry.lease.waitMs;
  // The lease was granted for this request, so at least its `least` fits.
  const cap = capWithin(demand, pool) ?? demand.least;
  const reserved = costAt(demand, cap);
  pool.slots -= 1;
  drain(pool, reserved);
  entry.running += 1;
  // Only the first request of a queued lease waits; the lease holds one slot then.
  entry.lease = { ...entry.lease, waitMs: 0 };
  renewIfLow(subject, entry, demand, limits, access);
  let done = false;
  const late = (report: Omit<LeaseReport, "leaseId" | "unusedSlots">) => {
    // The lease was closed while this request ran: its reservation is still open at the Meter.
    addPending(subject, [{ leaseId: entry.lease.id, unusedSlots: 0, ...report }]);
    flushSoon(subject, access, limits, 250);
  };
  const finish = () => {
    entry.running -= 1;
    // A lease with no slot left and nothing running has nothing more to do: what it holds goes back now,
    // not when it runs out, so that no other isolate is refused for money this one no longer needs.
    if (!entry.closed && entry.pool.slots < 1 && entry.running === 0) {
      addPending(
        subject,
        closeWhere(subject, (other) => other === entry),
      );
      flushSoon(subject, access, limits, 0);
    }
  };
  return {
    cap,
    key: entry.key,
    costBudgeted: entry.lease.money.micros !== null,
    waitMs,
    limits: limitsView(entry),
    settle(used) {
      if (done) return;
      done = true;
      const spent = { tokens: used.promptTokens + used.completionTokens, micros: used.micros };
      const day = today(Date.now());
      if (entry.closed) return late({ settled: [{ reserved, used, day }], released: { tokens: 0, micros: 0 } });
      // The reservation goes back to the lease, and what was used is taken from it: the rest is the next
      // request's at once. (What a request used beyond its reservation is committed all the same.)
      refill(pool, reserved);
      entry.settled.push({ reserved: drain(pool, spent), used, day });
      finish();
    },
    release() {
      if (done) return;
      done = true;
      if (entry.closed) return late({ settled: [], released: reserved });
      pool.slots += 1;
      refill(pool, reserved);
      finish();
    },
  };
}

/**
 * The limits a request of `entry` sees: the Meter counted all of the lease's slots and money as taken when it
 * granted them, so what the lease still holds is left too.
 */
function limitsView(entry: Held): LimitsView {
  const { view, until, money } = entry.lease;
  const now = Date.now();
  const sinceGrant = now - (until - LEASE_MS);
  const tokens =
    view.tokens === null
      ? null
      : {
          budget: view.tokens.budget,
          remaining: Math.max(0, view.tokens.left - (money.tokens ?? 0) + (entry.pool.tokens ?? 0)),
          resetMs: periodEnd(now) - now,
        };
  return {
    perMinute: view.perMinute,
    remaining: view.remaining + Math.max(0, entry.pool.slots),
    resetMs: Math.max(0, view.resetMs - sinceGrant),
    tokens,
  };
}

/**
 * Records usage of a subject that has no lease (RELAY_SECRET: limited per IP, not budgeted). Reports go to
 * the subject's Meter in batches, at most about once a second per isolate.
 */
export function recordUsage(subject: string, used: Usage, limits: Limits, access: MeterAccess): void {
  const none = { tokens: 0, micros: 0 };
  addPending(subject, [
    { leaseId: "none", settled: [{ reserved: none, used, day: today(Date.now()) }], released: none, unusedSlots: 0 },
  ]);
  flushSoon(subject, access, limits, 1000);
}

/**
 * Closes this isolate's leases of a subject (a revoked key), so that its next request asks the Meter. What
 * they hold goes back with the flush each lease has scheduled for its end.
 */
export function forgetLease(subject: string): void {
  addPending(
    subject,
    closeWhere(subject, () => true),
  );
}
