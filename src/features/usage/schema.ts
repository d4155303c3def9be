import * as z from "zod";

/** A UTC calendar day, YYYY-MM-DD, that exists (no 2026-02-30). */
const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a day, YYYY-MM-DD")
  .refine((value) => {
    const parsed = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(value);
  }, "must be a real date");

const DAY_MS = 86_400_000;

/** `GET /admin/usage`: a span of UTC days (both included, at most 366) and how to group it. */
export const usageQuery = z
  .strictObject({
    from: day,
    to: day,
    group_by: z.enum(["day", "subject", "model"]).default("day"),
  })
  .refine((q) => q.from <= q.to, { message: "must not be after to", path: ["from"] })
  .refine((q) => Date.parse(q.to) - Date.parse(q.from) < 366 * DAY_MS, {
    message: "the span may cover at most 366 days",
    path: ["to"],
  });
export type UsageQuery = z.output<typeof usageQuery>;
