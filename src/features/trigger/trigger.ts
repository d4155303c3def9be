import { Forbidden, InvalidRequest } from "../../errors";
import { readConfig } from "../../lib/config";
import { validate } from "../../lib/request";
import { dispatchRepositoryEvent, githubConfig } from "../../upstream/github";
import type { ActionContext } from "../connector/actions";
import { ipAllowed } from "./ip-allowlist";
import { triggerConfig, triggerGateConfig, triggerRequest } from "./schema";

/** 403 for a client IP outside TRIGGER_IP_ALLOWLIST (when set), whichever front door the trigger came through. */
export function assertTriggerIpAllowed(env: Env, ip: string): void {
  const { TRIGGER_IP_ALLOWLIST: ranges } = readConfig(env, triggerGateConfig);
  if (ranges.length > 0 && !ipAllowed(ranges, ip)) {
    throw new Forbidden(`This IP address (${ip}) is not in TRIGGER_IP_ALLOWLIST`, "ip_not_allowed");
  }
}

/**
 * Starts the Hivemind foreman: a `repository_dispatch` of HIVE_EVENT_TYPE to HIVE_REPOSITORY, or with
 * `dry_run` exactly what would be sent. One implementation for `POST /trigger-hive` and the MCP tool.
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
  ctx.audit.target = `${config.HIVE_REPOSITORY}:${body.action}`;

  const event = {
    event_type: config.HIVE_EVENT_TYPE,
    client_payload: { action: body.action, payload: body.payload ?? {}, request_id: ctx.requestId },
  };
  if (body.dry_run) {
    ctx.audit.outcome = "dry_run";
    return { dry_run: true, would_dispatch: { repository: config.HIVE_REPOSITORY, ...event } } as const;
  }
  const [owner = "", repo = ""] = config.HIVE_REPOSITORY.split("/");
  await dispatchRepositoryEvent(github, { owner, repo }, event);
  return { dispatched: true, request_id: ctx.requestId } as const;
}
