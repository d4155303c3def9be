import * as z from "zod";

/** A UTC calendar day, YYYY-MM-DD, that exists (no 2026-02-30). */
export const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a day, YYYY-MM-DD")
  .refine((value) => {
    const parsed = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(value);
  }, "must be a real date");

const DAY_MS = 86_400_000;

/**
 * A query over a span of UTC days, `from` and `to` (both included, at most 366: a leap year), with `fields`
 * besides. Unknown parameters are refused.
 */
export function daySpanQuery<F extends z.ZodRawShape>(fields: F) {
  // The output holds `from` and `to` whatever `fields` are; TypeScript cannot see that through the generic.
  const span = (query: unknown) => query as { from: string; to: string };
  return z
    .strictObject({ from: day, to: day, ...fields })
    .refine((q) => span(q).from <= span(q).to, { message: "must not be after to", path: ["from"] })
    .refine((q) => Date.parse(span(q).to) - Date.parse(span(q).from) < 366 * DAY_MS, {
      message: "the span may cover at most 366 days",
      path: ["to"],
    });
}

/** The span as ISO times for `WHERE at >= start AND at < end`: the first instants of `from` and of the day after `to`. */
export function spanTimes(from: string, to: string): { start: string; end: string } {
  return {
    start: new Date(`${from}T00:00:00Z`).toISOString(),
    end: new Date(Date.parse(`${to}T00:00:00Z`) + DAY_MS).toISOString(),
  };
}
