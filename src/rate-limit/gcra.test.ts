import { describe, expect, it } from "vitest";
import { gcra } from "./gcra";

describe("gcra", () => {
  const limit = 10;
  const period = 60_000;

  it("allows a burst of exactly `limit`, then refuses with the wait until the next slot", () => {
    let tat = 0;
    const now = 1_000_000;
    const remaining: number[] = [];
    for (let i = 0; i < limit; i++) {
      const decision = gcra(tat, now, limit, period);
      expect(decision.allowed).toBe(true);
      remaining.push(decision.remaining);
      tat = decision.tat;
    }
    expect(remaining).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    const refused = gcra(tat, now, limit, period);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 6000, waitMs: 0, tat });
  });

  it("refills one request per period/limit as the clock moves", () => {
    let tat = 0;
    for (let i = 0; i < limit; i++) tat = gcra(tat, 0, limit, period).tat;
    expect(gcra(tat, 5_999, limit, period).allowed).toBe(false);
    const later = gcra(tat, 6_000, limit, period);
    expect(later.allowed).toBe(true);
    expect(later.remaining).toBe(0);
    expect(gcra(tat, period, limit, period).remaining).toBe(limit - 1);
  });

  it("does not let an idle past build up more than `limit`", () => {
    const decision = gcra(0, 10 * period, limit, period);
    expect(decision.remaining).toBe(limit - 1);
  });

  it("queues a request that is over the limit by less than queueMs: allowed, told to wait, its slot taken", () => {
    let tat = 0;
    for (let i = 0; i < limit; i++) tat = gcra(tat, 0, limit, period).tat;
    const queued = gcra(tat, 1_000, limit, period, 5_000);
    expect(queued).toMatchObject({ allowed: true, waitMs: 5_000 });
    // The next one would wait 11 s, more than the queue allows: refused, nothing taken.
    const next = gcra(queued.tat, 1_000, limit, period, 5_000);
    expect(next).toMatchObject({ allowed: false, retryAfterMs: 11_000, tat: queued.tat });
  });
});
