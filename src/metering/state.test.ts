import { describe, expect, it } from "vitest";
import {
  applyReport,
  emptyState,
  grant,
  isValidReport,
  type Lease,
  type LeaseReport,
  type Limits,
  type MeterState,
  type Money,
  periodEnd,
} from "./state";

const NOW = Date.parse("2026-11-30T23:59:50.000Z");
const limits = (budget: Limits["budget"] = {}, perMinute = 600): Limits => ({ perMinute, budget, queueMs: 0 });
const need = (tokens: number, micros = 0) => ({ tokens, micros });
const used = (prompt: number, completion: number, micros = 0) => ({
  model: "gpt-4o-mini",
  promptTokens: prompt,
  completionTokens: completion,
  micros,
  priced: true,
  estimated: false,
});

/** A grant for a request that is worth sending only whole (`least` is its `need`). */
const grantWhole = (state: MeterState, id: string, n: Money, l: Limits, now = NOW, solo = false) =>
  grant(state, id, n, n, l, now, solo);

function granted(state: MeterState, id: string, n: ReturnType<typeof need>, l: Limits, now = NOW) {
  const result = grantWhole(state, id, n, l, now);
  if (!("lease" in result)) throw new Error(`refused: ${JSON.stringify(result.refusal)}`);
  return result as { state: MeterState; lease: Lease };
}

describe("grant: the budget is never over-spent", () => {
  it("admits exactly the requests whose worst cases fit, one isolate spending its leases", () => {
    const budget = limits({ tokens: 1000 });
    let state = emptyState(NOW);
    let lease: Lease | undefined;
    let pool = 0;
    let admitted = 0;
    let refused = 0;
    for (let i = 0; i < 50; i++) {
      if (pool < 100) {
        if (lease)
          state = applyReport(
            state,
            { leaseId: lease.id, settled: [], released: need(pool), unusedSlots: 0 },
            budget,
            NOW,
          ).state;
        const result = grantWhole(state, `l${i}`, need(100), budget, NOW);
        state = result.state;
        if ("refusal" in result) {
          expect(result.refusal).toEqual({
            refused: "budget_exceeded",
            resetAt: Date.parse("2026-12-01T00:00:00.000Z"),
          });
          lease = undefined;
          pool = 0;
          refused += 1;
          continue;
        }
        lease = result.lease;
        pool = lease.money.tokens ?? 0;
      }
      pool -= 100;
      admitted += 1;
    }
    expect({ admitted, refused }).toEqual({ admitted: 10, refused: 40 });
    expect(state.reserved.tokens + state.committed.tokens).toBeLessThanOrEqual(1000);
  });

  it("gives a lease a quarter of what is left, never less than the request needs", () => {
    const first = granted(emptyState(NOW), "a", need(10, 5), limits({ tokens: 1000, micros: 400 }));
    expect(first.lease.money).toEqual({ tokens: 250, micros: 100 });
    expect(granted(emptyState(NOW), "c", need(100), limits({ tokens: 1000 })).lease.money.tokens).toBe(200);
    const big = granted(emptyState(NOW), "b", need(600), limits({ tokens: 1000 }));
    expect(big.lease.money).toEqual({ tokens: 600, micros: null });
  });

  it("gives a solo lease exactly one request: its need and one slot", () => {
    const solo = grantWhole(emptyState(NOW), "s", need(10, 5), limits({ tokens: 1000, micros: 400 }, 6000), NOW, true);
    if (!("lease" in solo)) throw new Error("refused");
    expect(solo.lease).toMatchObject({ slots: 1, money: { tokens: 10, micros: 5 } });
    expect(solo.state.reserved).toEqual({ tokens: 10, micros: 5 });
    const usual = granted(emptyState(NOW), "u", need(10, 5), limits({ tokens: 1000, micros: 400 }, 6000));
    expect(usual.lease.slots).toBe(100);
  });

  it("counts a budget of either kind and leaves the other unlimited", () => {
    const lease = granted(emptyState(NOW), "a", need(10, 5), limits({ micros: 50 })).lease;
    expect(lease.money).toEqual({ tokens: null, micros: 10 });
    const refused = grantWhole(emptyState(NOW), "b", need(10, 51), limits({ micros: 50 }), NOW);
    expect("refusal" in refused && refused.refusal.refused).toBe("budget_exceeded");
  });

  it("starts a new month with the whole budget (UTC)", () => {
    const full = granted(emptyState(NOW), "a", need(1000), limits({ tokens: 1000 })).state;
    expect("refusal" in grantWhole(full, "b", need(1), limits({ tokens: 1000 }), NOW)).toBe(true);
    const december = Date.parse("2026-12-01T00:00:00.000Z");
    const next = granted(full, "c", need(1), limits({ tokens: 1000 }), december);
    expect(next.state.period).toBe("2026-12");
    expect(periodEnd(december)).toBe(Date.parse("2027-01-01T00:00:00.000Z"));
  });
});

describe("grant: a request the budget can pay for only in part runs cut down", () => {
  it("gives a request that fits only cut down a solo lease of what is left", () => {
    const budget = limits({ tokens: 1000, micros: 500 });
    const spent = granted(emptyState(NOW), "a", need(900, 100), budget).state;
    const result = grant(spent, "b", need(400, 50), need(80, 10), budget, NOW);
    if (!("lease" in result)) throw new Error("refused");
    // 100 tokens are left: less than the 400 it wants, more than the 80 it is worth sending for.
    expect(result.lease).toMatchObject({ slots: 1, money: { tokens: 100, micros: 50 } });
    expect(result.state.reserved).toEqual({ tokens: 1000, micros: 150 });
  });

  it("refuses only when what is left cannot cover the prompt and the shortest answer", () => {
    const budget = limits({ tokens: 1000 });
    const spent = granted(emptyState(NOW), "a", need(921), budget).state;
    const refused = grant(spent, "b", need(200), need(80), budget, NOW);
    expect("refusal" in refused && refused.refusal.refused).toBe("budget_exceeded");
    expect("lease" in grant(spent, "c", need(200), need(79), budget, NOW)).toBe(true);
  });
});

describe("isValidReport: nothing but counts reaches a Meter", () => {
  const good: LeaseReport = {
    leaseId: "lease-1",
    settled: [{ reserved: need(10), used: used(3, 4, 5), day: "2026-11-30" }],
    released: need(6),
    unusedSlots: 2,
  };

  it("accepts counts, days and model names", () => {
    expect(isValidReport(good)).toBe(true);
  });

  it.each([
    ["a NaN cost", { ...good, settled: [{ ...good.settled[0], used: { ...used(3, 4), micros: Number.NaN } }] }],
    ["a negative token count", { ...good, settled: [{ ...good.settled[0], used: used(-1, 4) }] }],
    ["a fraction of a micro-dollar", { ...good, released: { tokens: 1, micros: 0.5 } }],
    ["Infinity", { ...good, unusedSlots: Number.POSITIVE_INFINITY }],
    ["a model that is not a string", { ...good, settled: [{ ...good.settled[0], used: { ...used(1, 1), model: 7 } }] }],
    ["a day that is not a day", { ...good, settled: [{ ...good.settled[0], day: "toString" }] }],
    ["a reservation that is not money", { ...good, settled: [{ ...good.settled[0], reserved: "10" }] }],
  ])("refuses %s", (_, report) => {
    expect(isValidReport(report as LeaseReport)).toBe(false);
  });
});

describe("grant: the rate", () => {
  it("takes a second's worth of slots, refuses once the minute is spent, and says when to retry", () => {
    let state = emptyState(NOW);
    const first = granted(state, "a", need(1), limits({}, 120));
    expect(first.lease.slots).toBe(2);
    state = first.state;
    for (let i = 0; i < 59; i++) state = granted(state, `l${i}`, need(1), limits({}, 120)).state;
    const refused = grantWhole(state, "z", need(1), limits({}, 120), NOW);
    expect("refusal" in refused && refused.refusal).toEqual({
      refused: "rate_limited",
      retryAfterMs: 500,
      perMinute: 120,
    });
  });

  it("checks the budget before the rate: a refusal for money takes no slot", () => {
    const state = emptyState(NOW);
    const refused = grantWhole(state, "a", need(2), limits({ tokens: 1 }, 1), NOW);
    expect("refusal" in refused).toBe(true);
    expect(refused.state.tat).toBe(state.tat);
    expect("lease" in grantWhole(refused.state, "b", need(1), limits({ tokens: 1 }, 1), NOW)).toBe(true);
  });

  it("queues a request over the limit by less than queueMs: one slot, told to wait", () => {
    const queued: Limits = { perMinute: 1, budget: {}, queueMs: 60_000 };
    const first = granted(emptyState(NOW), "a", need(1), queued);
    const second = granted(first.state, "b", need(1), queued);
    expect(second.lease).toMatchObject({ slots: 1, waitMs: 60_000 });
    expect("refusal" in grantWhole(second.state, "c", need(1), queued, NOW)).toBe(true);
  });
});

describe("applyReport", () => {
  it("turns reservations into what was used, and makes the rest available again", () => {
    const budget = limits({ tokens: 1000 });
    const { state, lease } = granted(emptyState(NOW), "a", need(100), budget);
    const after = applyReport(
      state,
      {
        leaseId: lease.id,
        settled: [{ reserved: need(100), used: used(20, 30), day: "2026-11-30" }],
        released: need((lease.money.tokens ?? 0) - 100),
        unusedSlots: lease.slots - 1,
      },
      budget,
      NOW,
    ).state;
    expect(after.committed).toEqual({ tokens: 50, micros: 0 });
    expect(after.reserved).toEqual({ tokens: 0, micros: 0 });
    expect(after.leases).toEqual({});
    expect(after.usage).toEqual({
      "2026-11-30|gpt-4o-mini": {
        requests: 1,
        promptTokens: 20,
        completionTokens: 30,
        micros: 0,
        unpriced: 0,
        estimated: 0,
      },
    });
  });

  it("keeps what a request still in flight reserved until its own report arrives", () => {
    const budget = limits({ tokens: 1000 });
    const { state, lease } = granted(emptyState(NOW), "a", need(100), budget);
    const held = (lease.money.tokens ?? 0) - 100;
    const closed = applyReport(
      state,
      { leaseId: "a", settled: [], released: need(held), unusedSlots: 0 },
      budget,
      NOW,
    ).state;
    expect(closed.reserved.tokens).toBe(100);
    const late = { reserved: need(100), used: used(60, 40), day: "2026-11-30" };
    const settled = applyReport(
      closed,
      { leaseId: "a", settled: [late], released: need(0), unusedSlots: 0 },
      budget,
      NOW,
    );
    expect(settled.state.reserved.tokens).toBe(0);
    expect(settled.state.committed.tokens).toBe(100);
  });

  it("gives unused slots back, so a lease never costs requests it did not make", () => {
    const perMinute = limits({}, 60);
    const { state, lease } = granted(emptyState(NOW), "a", need(1), perMinute);
    expect(lease.slots).toBe(1);
    const spent = granted(state, "b", need(1), perMinute).state;
    const back = applyReport(
      spent,
      { leaseId: "b", settled: [], released: need(0), unusedSlots: 1 },
      perMinute,
      NOW,
    ).state;
    expect(back.tat).toBe(state.tat);
  });

  it("sends each alert threshold once a month, when the committed spend crosses it", () => {
    const budget = limits({ tokens: 100 });
    let state = emptyState(NOW);
    const sent: number[][] = [];
    for (const tokens of [40, 15, 30, 10, 5]) {
      const g = granted(state, `l${tokens}${sent.length}`, need(tokens), budget);
      const applied = applyReport(
        g.state,
        {
          leaseId: g.lease.id,
          settled: [{ reserved: need(tokens), used: used(tokens, 0), day: "2026-11-30" }],
          released: need((g.lease.money.tokens ?? 0) - tokens),
          unusedSlots: g.lease.slots - 1,
        },
        budget,
        NOW,
      );
      state = applied.state;
      sent.push(applied.alerts);
    }
    expect(sent).toEqual([[], [50], [80], [], [100]]);
  });

  it("counts unpriced and estimated requests apart, and never adds an unpriced request's cost", () => {
    const budget = limits({});
    const report: LeaseReport = {
      leaseId: "none",
      settled: [
        { reserved: need(0), used: { ...used(10, 5, 7), priced: false }, day: "2026-11-30" },
        { reserved: need(0), used: { ...used(10, 5, 9), estimated: true }, day: "2026-11-30" },
      ],
      released: need(0),
      unusedSlots: 0,
    };
    const after = applyReport(emptyState(NOW), report, budget, NOW).state;
    expect(after.usage["2026-11-30|gpt-4o-mini"]).toEqual({
      requests: 2,
      promptTokens: 20,
      completionTokens: 10,
      micros: 9,
      unpriced: 1,
      estimated: 1,
    });
    expect(after.committed).toEqual({ tokens: 30, micros: 9 });
  });

  it("counts a report of last month's lease in usage, not in this month's budget", () => {
    const budget = limits({ tokens: 1000 });
    const { state, lease } = granted(emptyState(NOW), "a", need(100), budget);
    const december = Date.parse("2026-12-01T00:00:05.000Z");
    const after = applyReport(
      state,
      {
        leaseId: lease.id,
        settled: [{ reserved: need(100), used: used(70, 0), day: "2026-11-30" }],
        released: need(0),
        unusedSlots: 0,
      },
      budget,
      december,
    ).state;
    expect(after.period).toBe("2026-12");
    expect(after.committed.tokens).toBe(0);
    expect(after.usage["2026-11-30|gpt-4o-mini"]?.promptTokens).toBe(70);
  });
});
