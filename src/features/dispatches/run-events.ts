import { repositoryAllowed } from "../connector/allowlist";
import type { EventFilter, WorkflowRunEvent } from "./schema";
import { applyRunUpdate, type DispatchRecord, deliverySeen, findDispatch, type RunUpdate, STATUS_RANK } from "./store";

/** What became of one GitHub delivery; every one of them is acknowledged with 200. */
export type RunEventOutcome =
  | { outcome: "recorded"; request_id: string; status: RunUpdate["status"] }
  | { outcome: "ignored"; reason: IgnoredBecause }
  | { outcome: "duplicate" };

/**
 * Why a delivery changed nothing: not a workflow_run event, an action without news (GitHub may add more),
 * HIVE_EVENT_FILTER left the run out, the repository is not one the relay dispatches to, no dispatch of that
 * repository has the request id the run's name carries, or the dispatch already knows something newer.
 */
export type IgnoredBecause = "event" | "action" | "filtered" | "repository_not_allowed" | "no_dispatch" | "stale";

/** What a workflow_run event says about a dispatch, before it is matched: its news, or why it has none. */
type RunNews = { update: RunUpdate; repository: string; requestId: string } | { ignored: IgnoredBecause };

/** A request id (a UUID) anywhere in the run's name: the foreman workflow's `run-name` puts it there. */
const REQUEST_ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** The repositories the relay dispatches to: ALLOWED_REPOS (HIVE_ROUTES stays inside it) and HIVE_REPOSITORY. */
export type RunScope = { allowedRepos: string[]; hiveRepository: string | undefined; filter: EventFilter | undefined };

/** Reads a workflow_run event: the status it reports, the repository, and the request id in the run's name. */
export function newsOf(event: WorkflowRunEvent, scope: RunScope): RunNews {
  const run = event.workflow_run;
  const status =
    event.action === "completed"
      ? "completed"
      : ["requested", "in_progress"].includes(event.action)
        ? "running"
        : undefined;
  if (status === undefined) return { ignored: "action" };
  const { workflows, conclusions } = scope.filter ?? {};
  if (workflows && !workflows.includes(run.name ?? "")) return { ignored: "filtered" };
  if (status === "completed" && conclusions && !conclusions.includes(run.conclusion ?? "")) {
    return { ignored: "filtered" };
  }
  const repository = event.repository.full_name;
  const [owner = "", repo = ""] = repository.split("/");
  const allowed = [...scope.allowedRepos, ...(scope.hiveRepository ? [scope.hiveRepository] : [])];
  if (!repositoryAllowed(allowed, owner, repo)) return { ignored: "repository_not_allowed" };
  const requestId = REQUEST_ID.exec(run.display_title ?? "")?.[0]?.toLowerCase();
  if (requestId === undefined) return { ignored: "no_dispatch" };
  return {
    repository,
    requestId,
    update: {
      status,
      runAttempt: run.run_attempt ?? 1,
      conclusion: status === "completed" ? run.conclusion : null,
      runUrl: run.html_url,
    },
  };
}

/** Whether the update moves the dispatch forward: a later run attempt, or further in the same one. */
function isNewer(record: DispatchRecord, update: RunUpdate): boolean {
  if (update.runAttempt !== record.run_attempt) return update.runAttempt > record.run_attempt;
  return STATUS_RANK[update.status] > STATUS_RANK[record.status];
}

/**
 * Records what a signed workflow_run delivery says about a dispatch: `running`, then `completed` with its
 * conclusion. Matched by the request id in the run's name and the repository it was dispatched to; applied
 * once per delivery id, and only forward (deliveries may arrive out of order). A recorded change is audited
 * under the dispatch's request id, so that one id tells its whole story.
 */
export async function recordRunEvent(
  db: D1Database,
  deliveryId: string,
  event: WorkflowRunEvent,
  scope: RunScope,
  now: Date,
): Promise<RunEventOutcome> {
  const news = newsOf(event, scope);
  if ("ignored" in news) return { outcome: "ignored", reason: news.ignored };
  const record = await findDispatch(db, news.requestId);
  if (record === null || record.repository.toLowerCase() !== news.repository.toLowerCase()) {
    return { outcome: "ignored", reason: "no_dispatch" };
  }
  if (await deliverySeen(db, deliveryId)) return { outcome: "duplicate" };
  if (!isNewer(record, news.update)) return { outcome: "ignored", reason: "stale" };
  const { update } = news;
  const outcome = update.status === "completed" ? `completed:${update.conclusion ?? "none"}` : "running";
  try {
    await applyRunUpdate(db, deliveryId, record.request_id, update, {
      at: now,
      actor: "github",
      action: "webhook",
      target: record.source === "trigger" ? `${record.repository}:${record.action}` : record.repository,
      outcome,
      requestId: record.request_id,
    });
  } catch (error) {
    // The same delivery, sent twice at once: the other one applied it.
    if (await deliverySeen(db, deliveryId)) return { outcome: "duplicate" };
    throw error;
  }
  return { outcome: "recorded", request_id: record.request_id, status: update.status };
}
