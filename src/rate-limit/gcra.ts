/** What the limiter decided for one request. Times are milliseconds. */
export type Decision = {
  allowed: boolean;
  /** Requests still allowed right now after this one. */
  remaining: number;
  /** Until the bucket is completely refilled. */
  resetMs: number;
  /** Until the next request would be allowed (0 when allowed). */
  retryAfterMs: number;
  /** How long an allowed request must wait for its slot (0 unless it was queued). */
  waitMs: number;
  /** The theoretical arrival time to store for the next call. */
  tat: number;
};

/**
 * Generic Cell Rate Algorithm: `limit` requests per `periodMs`, with a burst of the full `limit`.
 * `tat` (theoretical arrival time) is the whole state; a denied request does not change it. A request that
 * would be allowed within `queueMs` is allowed now and told to wait (`waitMs`) for its slot, which is
 * taken, so queued requests never exceed the rate either. Pure: the caller passes `now`.
 */
export function gcra(tat: number, now: number, limit: number, periodMs: number, queueMs = 0): Decision {
  const interval = periodMs / limit;
  const nextTat = Math.max(tat, now) + interval;
  const allowAt = nextTat - periodMs;
  if (now < allowAt - queueMs) {
    return { allowed: false, remaining: 0, resetMs: tat - now, retryAfterMs: allowAt - now, waitMs: 0, tat };
  }
  const waitMs = Math.max(0, allowAt - now);
  const remaining = Math.max(0, Math.floor((periodMs - (nextTat - now)) / interval + 1e-9));
  return { allowed: true, remaining, resetMs: nextTat - now, retryAfterMs: 0, waitMs, tat: nextTat };
}
