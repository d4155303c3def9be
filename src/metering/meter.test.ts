import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uniqueId } from "../../test/support/relay";
import type { LeaseReport, Limits } from "./state";

const limits: Limits = { perMinute: 600, budget: {}, queueMs: 0 };
const none = { tokens: 0, micros: 0 };

function usageOn(day: string, promptTokens: number): LeaseReport {
  return {
    leaseId: "none",
    settled: [
      {
        reserved: none,
        used: {
          model: "gpt-4o-mini",
          promptTokens,
          completionTokens: 1,
          micros: 2,
          priced: true,
          estimated: false,
        },
        day,
      },
    ],
    released: none,
    unusedSlots: 0,
  };
}

async function rowsOf(subject: string) {
  const { results } = await env.DB.prepare(
    "SELECT day, requests, prompt_tokens FROM usage_daily WHERE subject = ? ORDER BY day",
  )
    .bind(subject)
    .all();
  return results;
}

describe("Meter: usage totals in D1", () => {
  it("writes whole totals per day and model, so that writing again changes nothing", async () => {
    const subject = uniqueId("meter");
    const stub = env.METER.getByName(subject);
    const today = new Date().toISOString().slice(0, 10);
    await stub.report(subject, [usageOn(today, 5), usageOn(today, 7)], limits);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await rowsOf(subject)).toEqual([{ day: today, requests: 2, prompt_tokens: 12 }]);
    await stub.report(subject, [usageOn(today, 1)], limits);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runDurableObjectAlarm(stub)).toBe(false);
    expect(await rowsOf(subject)).toEqual([{ day: today, requests: 3, prompt_tokens: 13 }]);
  });

  it("keeps a week of totals once written: older days leave the stored state, not D1", async () => {
    const subject = uniqueId("meter");
    const stub = env.METER.getByName(subject);
    const day = (ago: number) => new Date(Date.now() - ago * 86_400_000).toISOString().slice(0, 10);
    await stub.report(subject, [usageOn(day(9), 4), usageOn(day(1), 3)], limits);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await rowsOf(subject)).toEqual([
      { day: day(9), requests: 1, prompt_tokens: 4 },
      { day: day(1), requests: 1, prompt_tokens: 3 },
    ]);
    expect(Object.keys((await stub.snapshot())?.usage ?? {})).toEqual([`${day(1)}|gpt-4o-mini`]);
  });
});
