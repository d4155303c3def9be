/** What the limiter decided for one request. Times are milliseconds. */
export type Decision = {
  allowed: boolean;
  /** Requests still allowed right now after this one. */
  remaining: number;
  /** Until the bucket is completely refilled. */
  resetMs: number;
  /** Until the next request would be allowed (0 when allowed). */
  retryAfterMs: number;
  /** The theoretical arrival time to store for the next call. */
  tat: number;
};

/**
 * Generic Cell Rate Algorithm: `limit` requests per `periodMs`, with a burst of the full `limit`.
 * `tat` (theoretical arrival time) is the whole state; a denied request does not change it.
 * Pure: the caller passes `now`, so tests move the clock.
 */
export function gcra(tat: number, now: number, limit: number, periodMs: number): Decision {
  const interval = periodMs / limit;
  const nextTat = Math.max(tat, now) + interval;
  const allowAt = nextTat - periodMs;
  if (now < allowAt) {
    return { allowed: false, remaining: 0, resetMs: tat - now, retryAfterMs: allowAt - now, tat };
  }
  const remaining = Math.floor((periodMs - (nextTat - now)) / interval + 1e-9);
  return { allowed: true, remaining, resetMs: nextTat - now, retryAfterMs: 0, tat: nextTat };
}
