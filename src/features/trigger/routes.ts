import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { type AuditedEnv, auditAttempt } from "../../audit/attempt";
import { Forbidden, InvalidRequest } from "../../errors";
import { readConfig } from "../../lib/config";
import { readJson } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import { dispatchRepositoryEvent, githubConfig } from "../../upstream/github";
import { ipAllowed } from "./ip-allowlist";
import { triggerConfig, triggerGateConfig, triggerRequest } from "./schema";

/** The operator trigger: `POST /trigger-hive` starts the Hivemind foreman workflow. */
export const triggerRoutes = {
  trigger: { method: "POST", path: "/trigger-hive", auth: "relay-secret", rateLimit: "trigger", body: "json" },
} as const satisfies Record<string, RouteSpec>;

export const trigger = new Hono<AuditedEnv>();

/** 403 for a client IP outside TRIGGER_IP_ALLOWLIST (when set). */
const ipGate = createMiddleware<AuditedEnv>(async function ipGate(c, next) {
  const { TRIGGER_IP_ALLOWLIST: ranges } = readConfig(c.env, triggerGateConfig);
  const ip = c.get("clientIp");
  if (ranges.length > 0 && !ipAllowed(ranges, ip)) {
    throw new Forbidden(`This IP address (${ip}) is not in TRIGGER_IP_ALLOWLIST`, "ip_not_allowed");
  }
  await next();
});

mount(
  trigger,
  triggerRoutes.trigger,
  async (c) => {
    const config = readConfig(c.env, triggerConfig);
    // A dry run checks the whole configuration too, so that it answers what the real call would do.
    const github = readConfig(c.env, githubConfig);
    const body = await readJson(c.req.raw, triggerRequest);
    const audit = c.get("audit");
    audit.dryRun = body.dry_run;
    if (!config.HIVE_ACTIONS.includes(body.action)) {
      throw new InvalidRequest(`action: must be one of ${config.HIVE_ACTIONS.join(", ")}`, "action_not_allowed");
    }
    audit.target = `${config.HIVE_REPOSITORY}:${body.action}`;

    const requestId = c.get("requestId");
    const event = {
      event_type: config.HIVE_EVENT_TYPE,
      client_payload: { action: body.action, payload: body.payload ?? {}, request_id: requestId },
    };
    if (body.dry_run) {
      audit.outcome = "dry_run";
      return c.json({
        success: true,
        dry_run: true,
        would_dispatch: { repository: config.HIVE_REPOSITORY, ...event },
      });
    }
    const [owner = "", repo = ""] = config.HIVE_REPOSITORY.split("/");
    await dispatchRepositoryEvent(github, { owner, repo }, event);
    return c.json({ success: true, dispatched: true, request_id: requestId });
  },
  [
    // First, so that refusals by everything after it (IP, rate limit, auth, validation) are audited too.
    auditAttempt({ actor: "operator", action: "trigger", target: (env) => env.HIVE_REPOSITORY?.trim() || "unknown" }),
    ipGate,
  ],
);
