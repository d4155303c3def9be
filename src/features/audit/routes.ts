import { Hono } from "hono";
import { readAuditPage } from "../../audit/store";
import type { AppEnv } from "../../env";
import { validate } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import { auditQuery } from "./schema";

/** `GET /admin/audit`: the audit log for the operator, newest first. */
export const auditRoutes = {
  audit: { method: "GET", path: "/admin/audit", auth: "admin", rateLimit: "admin", body: null },
} as const satisfies Record<string, RouteSpec>;

export const audit = new Hono<AppEnv>();

mount(audit, auditRoutes.audit, async (c) => {
  const query = validate(auditQuery, c.req.query());
  const page = await readAuditPage(
    c.env.DB,
    query.limit,
    query.cursor === undefined ? undefined : Number(query.cursor),
  );
  return c.json({ success: true, records: page.rows, next_cursor: page.next === null ? null : String(page.next) });
});
