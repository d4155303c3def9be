import { Hono } from "hono";
import type { AppEnv } from "../../env";
import { validate } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import { usageQuery } from "./schema";
import { readUsage } from "./store";

/** `GET /admin/usage`: tokens and cost per day, subject or model, from what every Meter recorded. */
export const usageRoutes = {
  usage: { method: "GET", path: "/admin/usage", auth: "admin", rateLimit: "admin", body: null },
} as const satisfies Record<string, RouteSpec>;

export const usage = new Hono<AppEnv>();

mount(usage, usageRoutes.usage, async (c) => {
  const query = validate(usageQuery, c.req.query());
  return c.json({ success: true, rows: await readUsage(c.env.DB, query) });
});
