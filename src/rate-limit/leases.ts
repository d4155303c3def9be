import type { LeaseDecision, RateLimiter } from "./durable-object";

/**
 * The isolate's side of the exact limits: a request takes a slot from a lease this isolate holds for its
 * bucket, and calls the bucket's RateLimiter only when none has one left. A lease holds up to LEASE_MS worth
 * of the bucket's requests (at most MAX_SLOTS), good for LEASE_MS. So:
 *
 * - the limit is never passed: every slot an isolate spends was granted by the bucket's one Durable Object;
 * - while a lease holds, a request makes no call;
 * - slots a lease did not use come back with its isolate's next call for the bucket; until then (or if that
 *   call never comes) they count as used, so a bucket may refuse at most LEASE_MS worth of requests per
 *   isolate that its limit would have allowed, and only until it refills.
 */

/** How long a lease is good for. */
export const LEASE_MS = 1000;
/** The most slots one lease holds. */
const MAX_SLOTS = 1000;

type Held = { slots: number; until: number; remaining: number; resetAt: number };

/** This isolate's leases, per bucket. */
const held = new Map<string, Held>();
/** Buckets whose RateLimiter this isolate is asking for a lease right now: others ask for one slot only. */
const asking = new Set<string>();

/**
 * Admits one request of `bucket` (`limit` per `periodMs`, waiting up to `queueMs` for a slot): from a lease
 * of this isolate, or from the bucket's RateLimiter, which may grant a new lease with it.
 */
export async function takeSlot(
  limiter: () => DurableObjectStub<RateLimiter>,
  bucket: string,
  limit: number,
  periodMs: number,
  queueMs: number,
): Promise<LeaseDecision> {
  const now = Date.now();
  const lease = held.get(bucket);
  if (lease && lease.slots > 0 && now < lease.until) {
    lease.slots -= 1;
    lease.remaining = Math.max(0, lease.remaining - 1);
    return {
      allowed: true,
      remaining: lease.remaining,
      resetMs: Math.max(0, lease.resetAt - now),
      retryAfterMs: 0,
      waitMs: 0,
      tat: 0,
      firstRefusal: false,
      slots: 1,
    };
  }
  // A lease that ran out of time gives its unused slots back with this call.
  const unused = lease && now >= lease.until ? lease.slots : 0;
  if (lease && now >= lease.until) held.delete(bucket);
  const solo = asking.has(bucket);
  const wanted = solo ? 1 : Math.min(MAX_SLOTS, Math.max(1, Math.ceil((limit * LEASE_MS) / periodMs)));
  if (!solo) asking.add(bucket);
  let decision: LeaseDecision;
  try {
    decision = await limiter().lease(limit, periodMs, queueMs, wanted, unused);
  } finally {
    if (!solo) asking.delete(bucket);
  }
  if (decision.slots > 1) {
    const current = held.get(bucket);
    if (current && Date.now() < current.until) current.slots += decision.slots - 1;
    else {
      held.set(bucket, {
        slots: decision.slots - 1,
        until: Date.now() + LEASE_MS,
        remaining: decision.remaining,
        resetAt: Date.now() + decision.resetMs,
      });
    }
  }
  return decision;
}
