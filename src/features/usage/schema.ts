import * as z from "zod";
import { daySpanQuery } from "../../lib/day-span";

/** What usage can be grouped by. */
export const USAGE_GROUPS = ["day", "subject", "model"] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

/** `day`, `subject` or `model`, or several of them joined by commas (`day,model`): the row's keys, in order. */
const groupBy = z
  .string()
  .default("day")
  .transform((value) => value.split(","))
  .refine(
    (groups) => groups.every((group) => (USAGE_GROUPS as readonly string[]).includes(group)),
    "must be day, subject or model, or several of them joined by commas",
  )
  .refine((groups) => new Set(groups).size === groups.length, "must not name a grouping twice")
  .transform((groups) => groups as UsageGroup[]);

/** `GET /admin/usage`: a span of UTC days (both included, at most 366) and how to group it. */
export const usageQuery = daySpanQuery({ group_by: groupBy });
export type UsageQuery = z.output<typeof usageQuery>;
