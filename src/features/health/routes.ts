import { Hono } from "hono";
import type { AppEnv } from "../../env";
import { mount, type RouteSpec } from "../../middleware/guard";

/** `GET /relay/health`: needs no secret, reveals nothing, is never rate limited. */
export const healthRoutes = {
  health: { method: "GET", path: "/relay/health", auth: "none", rateLimit: null, body: null },
} as const satisfies Record<string, RouteSpec>;

export const health = new Hono<AppEnv>();

mount(health, healthRoutes.health, (c) => c.json({ status: "ok" }));
