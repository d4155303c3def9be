import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addMonthsSql } from "./months";
import { TIER_MONTHS } from "./schema";

async function addMonths(time: string, months: number): Promise<string> {
  const row = await env.DB.prepare(`SELECT ${addMonthsSql("?1", "?2")} AS t`)
    .bind(time, months)
    .first<{ t: string }>();
  return row?.t ?? "";
}

// Stripe bills a subscription that started on the 31st on the last day of shorter months
// (https://docs.stripe.com/billing/subscriptions/billing-cycle): month arithmetic clamps to the month's end.
describe("addMonthsSql: one period of every tier, clamped to the end of the month", () => {
  it.each([
    // start, tier, expected
    ["2027-01-31T10:00:00.000Z", "monthly", "2027-02-28T10:00:00.000Z"],
    ["2028-01-31T10:00:00.000Z", "monthly", "2028-02-29T10:00:00.000Z"], // leap year
    ["2027-01-30T23:59:59.999Z", "monthly", "2027-02-28T23:59:59.999Z"],
    ["2027-01-28T00:00:00.000Z", "monthly", "2027-02-28T00:00:00.000Z"],
    ["2027-03-31T08:30:00.000Z", "monthly", "2027-04-30T08:30:00.000Z"],
    ["2026-12-31T12:00:00.000Z", "monthly", "2027-01-31T12:00:00.000Z"], // year boundary
    ["2026-11-30T00:00:00.000Z", "monthly", "2026-12-30T00:00:00.000Z"],
    ["2026-02-28T00:00:00.000Z", "monthly", "2026-03-28T00:00:00.000Z"], // no stretching to the month's end
    ["2026-08-31T00:00:00.000Z", "quarterly", "2026-11-30T00:00:00.000Z"],
    ["2026-11-30T00:00:00.000Z", "quarterly", "2027-02-28T00:00:00.000Z"],
    ["2027-11-30T00:00:00.000Z", "quarterly", "2028-02-29T00:00:00.000Z"], // into a leap February
    ["2026-12-31T00:00:00.000Z", "quarterly", "2027-03-31T00:00:00.000Z"],
    ["2028-02-29T06:00:00.000Z", "yearly", "2029-02-28T06:00:00.000Z"],
    ["2027-02-28T06:00:00.000Z", "yearly", "2028-02-28T06:00:00.000Z"],
    ["2026-12-01T00:55:00.000Z", "yearly", "2027-12-01T00:55:00.000Z"],
    ["2099-12-31T23:59:59.999Z", "yearly", "2100-12-31T23:59:59.999Z"],
  ] as const)("%s + one %s period = %s", async (start, tier, expected) => {
    expect(await addMonths(start, TIER_MONTHS[tier])).toBe(expected);
  });

  it("lands on the same day of the next month, or on its last day, for every day of a common and a leap year", async () => {
    const starts = Array.from({ length: 365 + 366 }, (_, day) => new Date(Date.UTC(2027, 0, 1 + day, 7, 15)));
    const results = await env.DB.batch(
      starts.map((start) => env.DB.prepare(`SELECT ${addMonthsSql("?1", "?2")} AS t`).bind(start.toISOString(), 1)),
    );
    const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    const wrong = starts.flatMap((start, i) => {
      const [year, month, day] = [start.getUTCFullYear(), start.getUTCMonth() + 1, start.getUTCDate()];
      const expected = new Date(Date.UTC(year, month, Math.min(day, daysIn(year, month)), 7, 15)).toISOString();
      const got = (results[i]?.results[0] as { t: string } | undefined)?.t;
      return got === expected ? [] : [`${start.toISOString()} → ${got}, expected ${expected}`];
    });
    expect(wrong).toEqual([]);
  });
});
