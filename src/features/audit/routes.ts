import { Hono } from "hono";
import { countAudit, readAuditPage } from "../../audit/store";
import type { AppEnv } from "../../env";
import { validate } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import { auditQuery, auditSummaryQuery } from "./schema";

/** `GET /admin/audit`: the audit log for the operator, newest first; `/summary`: its records counted. */
export const auditRoutes = {
  audit: { method: "GET", path: "/admin/audit", auth: "admin", rateLimit: "admin", body: null },
  auditSummary: { method: "GET", path: "/admin/audit/summary", auth: "admin", rateLimit: "admin", body: null },
} as const satisfies Record<string, RouteSpec>;

export const audit = new Hono<AppEnv>();

mount(audit, auditRoutes.audit, async (c) => {
  const query = validate(auditQuery, c.req.query());
  const page = await readAuditPage(
    c.env.DB,
    query.limit,
    query.cursor === undefined ? undefined : Number(query.cursor),
    { actor: query.actor, action: query.action },
  );
  return c.json({ success: true, records: page.rows, next_cursor: page.next === null ? null : String(page.next) });
});

mount(audit, auditRoutes.auditSummary, async (c) => {
  const { from, to } = validate(auditSummaryQuery, c.req.query());
  return c.json({ success: true, from, to, counts: await countAudit(c.env.DB, from, to) });
});
