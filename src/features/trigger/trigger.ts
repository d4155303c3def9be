import { Forbidden, InvalidRequest } from "../../errors";
import { readConfig } from "../../lib/config";
import { validate } from "../../lib/request";
import { githubConfig } from "../../upstream/github";
import { type ActionContext, KORA_SUBJECT } from "../connector/actions";
import { auditOutcomeOf, dispatchOrQueue } from "../dispatches/dispatch";
import { ipAllowed } from "./ip-allowlist";
import { type TriggerConfig, triggerConfig, triggerGateConfig, triggerRequest } from "./schema";

/** 403 for a client IP outside TRIGGER_IP_ALLOWLIST (when set), whichever front door the trigger came through. */
export function assertTriggerIpAllowed(env: Env, ip: string): void {
  const { TRIGGER_IP_ALLOWLIST: ranges } = readConfig(env, triggerGateConfig);
  if (ranges.length > 0 && !ipAllowed(ranges, ip)) {
    throw new Forbidden(`This IP address (${ip}) is not in TRIGGER_IP_ALLOWLIST`, "ip_not_allowed");
  }
}

/** Where an action's event goes, and which variable said so. */
export type HiveRoute = { repository: string; event_type: string; route: "HIVE_ROUTES" | "HIVE_REPOSITORY" };

/** The action's HIVE_ROUTES entry, or HIVE_REPOSITORY and HIVE_EVENT_TYPE (triggerConfig ensures one exists). */
export function routeOf(config: TriggerConfig, action: string): HiveRoute {
  const route = config.HIVE_ROUTES?.[action];
  if (route) {
    return {
      repository: route.repository,
      event_type: route.event_type ?? config.HIVE_EVENT_TYPE,
      route: "HIVE_ROUTES",
    };
  }
  return { repository: config.HIVE_REPOSITORY ?? "", event_type: config.HIVE_EVENT_TYPE, route: "HIVE_REPOSITORY" };
}

/**
 * Starts the Hivemind foreman: a `repository_dispatch` to the action's route (HIVE_ROUTES, else
 * HIVE_REPOSITORY with HIVE_EVENT_TYPE), or with `dry_run` exactly what would be sent and the route chosen.
 * When GitHub fails for a while the trigger is queued instead of lost. One implementation for
 * `POST /trigger-hive` and the MCP tool.
 */
export async function triggerHive(ctx: ActionContext, input: unknown) {
  const config = readConfig(ctx.env, triggerConfig);
  // A dry run checks the whole configuration too, so that it answers what the real call would do.
  const github = readConfig(ctx.env, githubConfig);
  const body = validate(triggerRequest, input);
  ctx.audit.dryRun = body.dry_run;
  if (!config.HIVE_ACTIONS.includes(body.action)) {
    throw new InvalidRequest(`action: must be one of ${config.HIVE_ACTIONS.join(", ")}`, "action_not_allowed");
  }
  const route = routeOf(config, body.action);
  ctx.audit.target = `${route.repository}:${body.action}`;

  const payload = body.payload ?? {};
  const event = {
    event_type: route.event_type,
    client_payload: { action: body.action, payload, request_id: ctx.requestId },
  };
  if (body.dry_run) {
    ctx.audit.outcome = "dry_run";
    return { dry_run: true, route: route.route, would_dispatch: { repository: route.repository, ...event } } as const;
  }
  const [owner = "", repo = ""] = route.repository.split("/");
  const outcome = await dispatchOrQueue(ctx.env, github, ctx.requestId, {
    source: "trigger",
    subject: ctx.subject ?? KORA_SUBJECT,
    idempotencyKey: ctx.idempotencyKey,
    input: { action: body.action, payload },
    action: body.action,
    repository: { owner, repo },
    event,
  });
  ctx.audit.outcome = auditOutcomeOf(outcome);
  return outcome.status === "queued"
    ? ({ queued: true, request_id: outcome.requestId } as const)
    : ({ dispatched: true, request_id: outcome.requestId } as const);
}
