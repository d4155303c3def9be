import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import * as z from "zod";
import { type AuditedEnv, auditAttempt } from "../../audit/attempt";
import { readJson } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import { assertTriggerIpAllowed, triggerHive } from "./trigger";

/** The operator trigger: `POST /trigger-hive` starts the Hivemind foreman workflow. */
export const triggerRoutes = {
  trigger: { method: "POST", path: "/trigger-hive", auth: "relay-secret", rateLimit: "trigger", body: "json" },
} as const satisfies Record<string, RouteSpec>;

export const trigger = new Hono<AuditedEnv>();

/** 403 for a client IP outside TRIGGER_IP_ALLOWLIST (when set), before the rate limit and the secret. */
const ipGate = createMiddleware<AuditedEnv>(async function ipGate(c, next) {
  assertTriggerIpAllowed(c.env, c.get("clientIp"));
  await next();
});

mount(
  trigger,
  triggerRoutes.trigger,
  async (c) => {
    const context = { env: c.env, requestId: c.get("requestId"), audit: c.get("audit") };
    return c.json({ success: true, ...(await triggerHive(context, await readJson(c.req.raw, z.unknown()))) });
  },
  [
    // First, so that refusals by everything after it (IP, rate limit, auth, validation) are audited too.
    auditAttempt({ actor: "operator", action: "trigger", target: (env) => env.HIVE_REPOSITORY?.trim() || "unknown" }),
    ipGate,
  ],
);
