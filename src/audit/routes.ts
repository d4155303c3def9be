import { Hono } from "hono";
import type { AppEnv } from "../env";
import { validate } from "../middleware/json-body";
import { mount, ROUTES } from "../routes";
import { auditQuery } from "./schema";

/** `GET /admin/audit`: the audit log for the operator, newest first. */
export const auditRoutes = new Hono<AppEnv>();

type AuditRow = {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  dry_run: number;
};

mount(auditRoutes, ROUTES.audit, async (c) => {
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
});
