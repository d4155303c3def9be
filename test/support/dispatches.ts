import { env } from "cloudflare:workers";
import { inject } from "vitest";
import { CHATGPT_BEARER_TOKEN, GITHUB_WEBHOOK_SECRET, RELAY_SECRET } from "../secrets";
import type { GitHubRequest } from "./relay";
import { relay, uniqueId, uniqueIp } from "./relay";

/**
 * Helpers for the queued dispatches and their run status (src/features/dispatches): a repository of a test's
 * own whose GitHub answers are scripted (the queue consumer calls the stand-in's `default` scenario, not the
 * test's), triggers, status reads, and signed workflow_run deliveries.
 */

/** A repository nothing else uses, inside ALLOWED_REPOS (`octo-org/*` in vitest.config.mts). */
export function uniqueRepository(): string {
  return `octo-org/${uniqueId("repo")}`;
}

/** Scripts the GitHub stand-in: the next calls about `repository` answer with `behaviours` in turn, then "ok". */
export async function scriptRepository(repository: string, behaviours: string[] = []): Promise<void> {
  const response = await fetch(`${inject("githubStandIn")}/__script`, {
    method: "POST",
    body: JSON.stringify({ repository, behaviours }),
  });
  if (!response.ok) throw new Error(`the GitHub stand-in refused the script: ${response.status}`);
}

/** Every call the GitHub stand-in received about a scripted repository, in order. */
export async function receivedAbout(repository: string): Promise<Array<GitHubRequest & { behaviour: string }>> {
  const response = await fetch(`${inject("githubStandIn")}/__requests?repository=${encodeURIComponent(repository)}`);
  return response.json();
}

type TriggerOptions = {
  credential?: string;
  vars?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  ip?: string;
};

/** POSTs a trigger with RELAY_SECRET (or `credential`); the Worker's own GitHub scenario (`default`) answers. */
export async function postTrigger(body: unknown, options: TriggerOptions = {}) {
  const response = await relay(
    "/trigger-hive",
    {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "CF-Connecting-IP": options.ip ?? uniqueIp(),
        Authorization: `Bearer ${options.credential ?? RELAY_SECRET}`,
        ...options.headers,
      },
      body: JSON.stringify(body),
    },
    options.vars,
  );
  return { response, json: (await response.json()) as Record<string, unknown> };
}

/** POSTs a connector dispatch to a repository of `octo-org/*` with Kora's token. */
export function postDispatch(
  repository: string,
  body: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  return relay("/chatgpt/dispatch", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Authorization: `Bearer ${CHATGPT_BEARER_TOKEN}`,
      "CF-Connecting-IP": uniqueIp(),
      ...headers,
    },
    body: JSON.stringify({ owner: "octo-org", repo: repository.split("/")[1], ...body }),
  });
}

/** `GET /trigger-hive/{request_id}` with RELAY_SECRET (or `credential`). */
export async function triggerStatus(requestId: string, credential = RELAY_SECRET) {
  const response = await relay(`/trigger-hive/${requestId}`, {
    headers: { Authorization: `Bearer ${credential}`, "CF-Connecting-IP": uniqueIp() },
  });
  return { response, json: (await response.json()) as Record<string, unknown> };
}

/** The stored row of a dispatch, or null. */
export function dispatchRow(requestId: string) {
  return env.DB.prepare("SELECT * FROM dispatches WHERE request_id = ?")
    .bind(requestId)
    .first<Record<string, unknown>>();
}

/** The audit rows written under a request id, oldest first (the request's, the queue's and GitHub's). */
export async function auditUnder(requestId: string) {
  const { results } = await env.DB.prepare(
    "SELECT actor, action, target, outcome FROM audit_log WHERE request_id = ? ORDER BY id",
  )
    .bind(requestId)
    .all();
  return results;
}

/** A workflow_run event as GitHub sends it (trimmed to a realistic subset of its fields). */
export function workflowRun(options: {
  requestId: string | null;
  repository: string;
  action?: "requested" | "in_progress" | "completed";
  conclusion?: string | null;
  name?: string;
  runAttempt?: number;
  runId?: number;
}) {
  const action = options.action ?? "requested";
  const runId = options.runId ?? 9_000_001;
  const title = options.requestId === null ? "Hivemind foreman: plan" : `Hivemind foreman: plan [${options.requestId}]`;
  return {
    action,
    workflow_run: {
      id: runId,
      name: options.name ?? "Hivemind foreman",
      display_title: title,
      run_number: 12,
      event: "repository_dispatch",
      status: action === "completed" ? "completed" : action === "requested" ? "queued" : "in_progress",
      conclusion: action === "completed" ? (options.conclusion ?? "success") : null,
      run_attempt: options.runAttempt ?? 1,
      html_url: `https://github.com/${options.repository}/actions/runs/${runId}`,
      created_at: "2026-11-25T21:00:00Z",
      updated_at: "2026-11-25T21:01:00Z",
    },
    workflow: { id: 77, name: options.name ?? "Hivemind foreman", path: ".github/workflows/hivemind-foreman.yml" },
    repository: { id: 1, full_name: options.repository, private: true },
    sender: { login: "hivemind-bot", type: "Bot" },
  };
}

const encoder = new TextEncoder();

/** `sha256=` + hex HMAC-SHA256 of the body with the webhook secret, as GitHub signs a delivery. */
export async function hubSignature(body: string, secret = GITHUB_WEBHOOK_SECRET): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(body)));
  return `sha256=${Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

/** The headers of a GitHub delivery of `body` (signed unless `signature` replaces it). */
export async function githubHeaders(
  body: string,
  options: { event?: string; delivery?: string; signature?: string | null } = {},
): Promise<Record<string, string>> {
  const signature = options.signature === undefined ? await hubSignature(body) : options.signature;
  return {
    "Content-Type": "application/json",
    "User-Agent": "GitHub-Hookshot/abc1234",
    "X-GitHub-Event": options.event ?? "workflow_run",
    "X-GitHub-Delivery": options.delivery ?? crypto.randomUUID(),
    "X-GitHub-Hook-ID": "123456",
    ...(signature === null ? {} : { "X-Hub-Signature-256": signature }),
  };
}

/** Delivers a webhook to `POST /webhooks/github`: an event (sent as compact JSON) or a body as it is. */
export async function deliverToRelay(
  event: unknown,
  options: Parameters<typeof githubHeaders>[1] & { vars?: Record<string, string | undefined> } = {},
) {
  const body = typeof event === "string" ? event : JSON.stringify(event);
  const response = await relay(
    "/webhooks/github",
    { method: "POST", headers: { ...(await githubHeaders(body, options)), "CF-Connecting-IP": uniqueIp() }, body },
    options.vars,
  );
  return { response, json: (await response.json()) as Record<string, unknown> };
}
