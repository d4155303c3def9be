import * as z from "zod";
import { daySpanQuery } from "../../lib/day-span";

/** An actor or action to filter by: exactly as the records name it (`admin`, `user:u1`, `key_create`). */
const name = z.string().min(1).max(300);

/** The query of `GET /admin/audit`. */
export const auditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  // The cursor is the id of the last record of the previous page; older records have smaller ids.
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, "must be a next_cursor from a previous page")
    .optional(),
  actor: name.optional(),
  action: name.optional(),
});

/** The query of `GET /admin/audit/summary`: a span of UTC days, both included. */
export const auditSummaryQuery = daySpanQuery({});
