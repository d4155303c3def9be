import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../env";
import { requireToken } from "../middleware/auth";
import { validate } from "../middleware/json-body";
import { rateLimit } from "../middleware/rate-limit";

/** `GET /admin/audit`: the audit log for the operator, newest first. */
export const auditRoutes = new Hono<AppEnv>();

/** Requests per minute per IP on admin reads; fixed, since it only guards ADMIN_TOKEN guessing. */
const ADMIN_RATE_LIMIT = 60;

const auditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  // The cursor is the id of the last record of the previous page; older records have smaller ids.
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, "must be a next_cursor from a previous page")
    .optional(),
});

type AuditRow = {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  dry_run: number;
};

auditRoutes.get(
  "/admin/audit",
  rateLimit({ scope: "admin", limit: () => ADMIN_RATE_LIMIT }),
  requireToken({ secret: "ADMIN_TOKEN" }),
  async (c) => {
    const query = validate(auditQuery, c.req.query());
    const before = query.cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(query.cursor);
    // One row more than asked tells whether another page exists.
    const { results } = await c.env.DB.prepare(
      "SELECT id, at, actor, action, target, outcome, dry_run FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?",
    )
      .bind(before, query.limit + 1)
      .all<AuditRow>();
    const page = results.slice(0, query.limit);
    const last = page.at(-1);
    return c.json({
      success: true,
      records: page.map((row) => ({
        at: row.at,
        actor: row.actor,
        action: row.action,
        target: row.target,
        outcome: row.outcome,
        dry_run: row.dry_run === 1,
      })),
      next_cursor: results.length > query.limit && last ? String(last.id) : null,
    });
  },
);
