import * as z from "zod";

/** The query of `GET /admin/audit`. */
export const auditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  // The cursor is the id of the last record of the previous page; older records have smaller ids.
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, "must be a next_cursor from a previous page")
    .optional(),
});
