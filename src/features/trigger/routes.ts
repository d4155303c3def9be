import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import * as z from "zod";
import { type AuditedEnv, auditAttempt } from "../../audit/attempt";
import { readJson } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import { dispatchAnswer, idempotencyKeyOf } from "../dispatches/answer";
import { dispatchStatus } from "../dispatches/status";
import { triggerCaller } from "./caller";
import { assertTriggerIpAllowed, triggerHive } from "./trigger";

/** The operator trigger: `POST /trigger-hive` starts the Hivemind foreman workflow; the GET follows it. */
export const triggerRoutes = {
  trigger: { method: "POST", path: "/trigger-hive", auth: "trigger-credential", rateLimit: "trigger", body: "json" },
  triggerStatus: {
    method: "GET",
    path: "/trigger-hive/:request_id",
    auth: "trigger-credential",
    rateLimit: "trigger",
    body: null,
  },
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
    const caller = await triggerCaller(c);
    const audit = c.get("audit");
    audit.actor = caller.actor;
    const context = {
      env: c.env,
      requestId: c.get("requestId"),
      audit,
      subject: caller.subject,
      idempotencyKey: idempotencyKeyOf(c.req.raw.headers),
    };
    return dispatchAnswer(c, await triggerHive(context, await readJson(c.req.raw, z.unknown())));
  },
  [
    // First, so that refusals by everything after it (IP, rate limit, auth, validation) are audited too.
    auditAttempt({ actor: "operator", action: "trigger", target: (env) => env.HIVE_REPOSITORY?.trim() || "unknown" }),
    ipGate,
  ],
);

mount(
  trigger,
  triggerRoutes.triggerStatus,
  async (c) => {
    const caller = await triggerCaller(c);
    return c.json({
      success: true,
      ...(await dispatchStatus(c.env.DB, c.req.param("request_id") ?? "", caller.subject)),
    });
  },
  [ipGate],
);
