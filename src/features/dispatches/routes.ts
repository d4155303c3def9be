import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../../env";
import { InvalidRequest } from "../../errors";
import { readConfig } from "../../lib/config";
import { validate } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import { recordRunEvent } from "./run-events";
import { deliveryId, runStatusConfig, workflowRunEvent } from "./schema";
import { verifyGitHubSignature } from "./signature";

/** GitHub's run events: signed, not rate limited (the signature is the gate, and GitHub sends in bursts). */
export const dispatchRoutes = {
  githubWebhook: { method: "POST", path: "/webhooks/github", auth: "github-signature", rateLimit: null, body: "json" },
} as const satisfies Record<string, RouteSpec>;

export const dispatches = new Hono<AppEnv>();

const utf8 = new TextDecoder();
const deliveryHeader = z.object({ "X-GitHub-Delivery": deliveryId });

mount(dispatches, dispatchRoutes.githubWebhook, async (c) => {
  const config = readConfig(c.env, runStatusConfig);
  const body = new Uint8Array(await c.req.arrayBuffer());
  const verdict = await verifyGitHubSignature(body, c.req.header("X-Hub-Signature-256"), config.GITHUB_WEBHOOK_SECRET);
  if (!verdict.ok) throw new InvalidRequest(verdict.reason, "invalid_signature");
  const delivery = validate(deliveryHeader, { "X-GitHub-Delivery": c.req.header("X-GitHub-Delivery") ?? "" })[
    "X-GitHub-Delivery"
  ];
  const kind = c.req.header("X-GitHub-Event");
  // The header is not covered by the signature: only the names the relay knows reach the log.
  c.get("log").set({ webhook_event: kind === "workflow_run" || kind === "ping" ? kind : "other" });
  // `ping` (sent when the webhook is created) and any event the relay does not read: acknowledged.
  if (kind !== "workflow_run")
    return c.json({ success: true, delivery_id: delivery, outcome: "ignored", reason: "event" });
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(body));
  } catch {
    throw new InvalidRequest("Request body is not valid JSON", "invalid_json");
  }
  const event = validate(workflowRunEvent, parsed);
  const scope = {
    allowedRepos: config.ALLOWED_REPOS,
    hiveRepository: config.HIVE_REPOSITORY,
    filter: config.HIVE_EVENT_FILTER,
  };
  const outcome = await recordRunEvent(c.env.DB, delivery, event, scope, new Date());
  c.get("log").set({ webhook_outcome: outcome.outcome });
  return c.json({ success: true, delivery_id: delivery, ...outcome });
});
