import type { AuditRecord } from "../../audit/store";
import { RelayError } from "../../errors";
import { retryDelaySeconds } from "../../lib/backoff";
import { readConfig } from "../../lib/config";
import { Logger } from "../../lib/log";
import { dispatchRepositoryEvent, githubConfig } from "../../upstream/github";
import { isTransient, retryDelay } from "./dispatch";
import { type DispatchMessage, dispatchQueueConfig } from "./schema";
import { countAttempt, type DispatchRecord, findDispatch, settleQueued } from "./store";

/** The queues of wrangler.jsonc the dispatch consumers read (src/index.ts routes batches by these names). */
export const DISPATCH_QUEUE_NAME = "soul-mirror-dispatch";
export const DISPATCH_DEAD_LETTER_QUEUE_NAME = "soul-mirror-dispatch-dead";

/** The audit row of a queued dispatch's end: the queue acted, for the request that queued it. */
function auditOf(record: DispatchRecord, outcome: string, at: Date): AuditRecord {
  const target = record.source === "trigger" ? `${record.repository}:${record.action}` : record.repository;
  return { at, actor: "queue", action: record.source, target, outcome, requestId: record.request_id };
}

/** The consumers' log lines: ids and counts only, never a payload. */
const log = new Logger({ queue: DISPATCH_QUEUE_NAME });

/**
 * The consumer of DISPATCH_QUEUE: sends each queued dispatch to GitHub again. GitHub takes it: `dispatched`,
 * audited. GitHub fails for a while again: retried with a doubling delay (or GitHub's Retry-After); after the
 * queue's last retry the message goes to the dead-letter queue (failDispatches). GitHub refuses it for good:
 * `failed`, audited. A dispatch no longer `queued` (already sent, or its run already reported) is not sent
 * again, so a message delivered twice starts one run.
 */
export async function deliverDispatches(batch: MessageBatch<DispatchMessage>, env: Env): Promise<void> {
  const { DISPATCH_RETRY_SECONDS: base } = readConfig(env, dispatchQueueConfig);
  for (const message of batch.messages) {
    try {
      await deliver(message, env, base);
    } catch (error) {
      // D1 or the configuration failed, not GitHub: the message waits and comes again.
      log.event("error", "dispatch delivery failed", { error: error instanceof Error ? error.name : "unknown" });
      message.retry({ delaySeconds: retryDelaySeconds(base, message.attempts + 1) });
    }
  }
}

async function deliver(message: Message<DispatchMessage>, env: Env, base: number): Promise<void> {
  const record = await findDispatch(env.DB, message.body.request_id);
  if (record?.status !== "queued" || record.client_payload === null) return message.ack();
  const github = readConfig(env, githubConfig);
  const [owner = "", repo = ""] = record.repository.split("/");
  const clientPayload = JSON.parse(record.client_payload) as Record<string, unknown> | null;
  try {
    await dispatchRepositoryEvent(
      github,
      { owner, repo },
      { event_type: record.event_type, ...(clientPayload === null ? {} : { client_payload: clientPayload }) },
    );
  } catch (error) {
    const now = new Date();
    if (isTransient(error)) {
      await countAttempt(env.DB, record.request_id, now);
      return message.retry({ delaySeconds: retryDelay(error, base, message.attempts + 1) });
    }
    const code = error instanceof RelayError ? error.code : "internal_error";
    await settleQueued(
      env.DB,
      record.request_id,
      { status: "failed", attempted: true },
      auditOf(record, `failed:${code}`, now),
    );
    return message.ack();
  }
  await settleQueued(
    env.DB,
    record.request_id,
    { status: "dispatched", attempted: true },
    auditOf(record, "ok", new Date()),
  );
  log.event("info", "queued dispatch delivered", { request_id: record.request_id, attempts: record.attempts + 1 });
  message.ack();
}

/**
 * The consumer of the dead-letter queue: a dispatch the queue gave up on becomes `failed`, with an audit row
 * `failed:dead_lettered`, so that its status and the audit log say what the device was never told.
 */
export async function failDispatches(batch: MessageBatch<DispatchMessage>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const record = await findDispatch(env.DB, message.body.request_id);
    if (record?.status === "queued") {
      await settleQueued(
        env.DB,
        record.request_id,
        { status: "failed", attempted: false },
        auditOf(record, "failed:dead_lettered", new Date()),
      );
      log.event("error", "queued dispatch dead-lettered", { request_id: record.request_id, attempts: record.attempts });
    }
    message.ack();
  }
}
