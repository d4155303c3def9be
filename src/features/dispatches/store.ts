import { type AuditRecord, auditStatement } from "../../audit/store";
import type { DispatchStatus } from "./schema";

/**
 * The SQL of the dispatch queue (migrations/0005_dispatches.sql): one row per accepted dispatch, from its
 * reservation to its workflow run's conclusion, and the GitHub deliveries already applied.
 */

/** Which front door accepted a dispatch; also the action of its audit rows. */
export type DispatchSource = "trigger" | "dispatch";

/** One row of `dispatches`. */
export type DispatchRecord = {
  request_id: string;
  source: DispatchSource;
  subject: string;
  idempotency_key: string | null;
  fingerprint: string;
  action: string;
  repository: string;
  event_type: string;
  client_payload: string | null;
  status: DispatchStatus;
  answered: "dispatched" | "queued" | null;
  attempts: number;
  run_attempt: number;
  conclusion: string | null;
  run_url: string | null;
  created_at: string;
  updated_at: string;
};

/** A new dispatch before GitHub's first answer. */
export type NewDispatch = Pick<
  DispatchRecord,
  | "request_id"
  | "source"
  | "subject"
  | "idempotency_key"
  | "fingerprint"
  | "action"
  | "repository"
  | "event_type"
  | "client_payload"
>;

/** Inserts a dispatch as `pending`; false when the subject already used its idempotency key. */
export async function reserveDispatch(db: D1Database, dispatch: NewDispatch, now: Date): Promise<boolean> {
  const at = now.toISOString();
  const result = await db
    .prepare(
      `INSERT INTO dispatches (request_id, source, subject, idempotency_key, fingerprint, action, repository,
        event_type, client_payload, status, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING`,
    )
    .bind(
      dispatch.request_id,
      dispatch.source,
      dispatch.subject,
      dispatch.idempotency_key,
      dispatch.fingerprint,
      dispatch.action,
      dispatch.repository,
      dispatch.event_type,
      dispatch.client_payload,
      at,
      at,
    )
    .run();
  return result.meta.changes === 1;
}

export function findDispatch(db: D1Database, requestId: string): Promise<DispatchRecord | null> {
  return db.prepare("SELECT * FROM dispatches WHERE request_id = ?").bind(requestId).first<DispatchRecord>();
}

export function findByIdempotencyKey(db: D1Database, subject: string, key: string): Promise<DispatchRecord | null> {
  return db
    .prepare("SELECT * FROM dispatches WHERE subject = ? AND idempotency_key = ?")
    .bind(subject, key)
    .first<DispatchRecord>();
}

// The two first answers leave a status a run event has already moved on (a fast run's webhook can arrive
// before GitHub's answer to the dispatch itself) as it is.

/** GitHub took the first attempt: the payload is no longer needed. */
export async function answerDispatched(db: D1Database, requestId: string, now: Date): Promise<void> {
  await db
    .prepare(
      `UPDATE dispatches SET status = CASE status WHEN 'pending' THEN 'dispatched' ELSE status END,
        answered = 'dispatched', attempts = 1, client_payload = NULL, updated_at = ? WHERE request_id = ?`,
    )
    .bind(now.toISOString(), requestId)
    .run();
}

/** The first attempt failed for a while: the queue takes over. */
export async function answerQueued(db: D1Database, requestId: string, now: Date): Promise<void> {
  await db
    .prepare(
      `UPDATE dispatches SET status = CASE status WHEN 'pending' THEN 'queued' ELSE status END,
        answered = 'queued', attempts = 1, updated_at = ? WHERE request_id = ?`,
    )
    .bind(now.toISOString(), requestId)
    .run();
}

/** Forgets a dispatch that was never accepted (GitHub refused it for good, or the queue did not take it). */
export async function removeDispatch(db: D1Database, requestId: string): Promise<void> {
  await db.prepare("DELETE FROM dispatches WHERE request_id = ?").bind(requestId).run();
}

/** One more attempt of the queue that GitHub did not take yet. */
export async function countAttempt(db: D1Database, requestId: string, now: Date): Promise<void> {
  await db
    .prepare("UPDATE dispatches SET attempts = attempts + 1, updated_at = ? WHERE request_id = ? AND status = 'queued'")
    .bind(now.toISOString(), requestId)
    .run();
}

/**
 * Ends a queued dispatch: `dispatched` when GitHub took it (counting the attempt), `failed` when it refused
 * it for good or the queue gave up; with its audit row, in one batch.
 */
export async function settleQueued(
  db: D1Database,
  requestId: string,
  settled: { status: "dispatched" | "failed"; attempted: boolean },
  audit: AuditRecord,
): Promise<void> {
  const at = audit.at.toISOString();
  await db.batch([
    db
      .prepare(
        `UPDATE dispatches SET status = ?, attempts = attempts + ?, client_payload = NULL, updated_at = ?
        WHERE request_id = ? AND status = 'queued'`,
      )
      .bind(settled.status, settled.attempted ? 1 : 0, at, requestId),
    auditStatement(db, audit),
  ]);
}

/** Whether GitHub already delivered this event (X-GitHub-Delivery). */
export async function deliverySeen(db: D1Database, deliveryId: string): Promise<boolean> {
  const row = await db
    .prepare("SELECT 1 AS seen FROM github_deliveries WHERE delivery_id = ?")
    .bind(deliveryId)
    .first();
  return row !== null;
}

/** A workflow run's news about a dispatch. */
export type RunUpdate = {
  status: "running" | "completed";
  runAttempt: number;
  conclusion: string | null;
  runUrl: string;
};

/** Orders statuses: a run event may only move a dispatch forward (a failed one too: the run proves GitHub took it). */
export const STATUS_RANK: Record<DispatchStatus, number> = {
  pending: 0,
  queued: 0,
  failed: 0,
  dispatched: 1,
  running: 2,
  completed: 3,
};

const RANK_SQL = `CASE status WHEN 'dispatched' THEN 1 WHEN 'running' THEN 2 WHEN 'completed' THEN 3 ELSE 0 END`;

/**
 * Applies a run event: the delivery id first (its PRIMARY KEY makes a redelivery that raced past
 * `deliverySeen` fail the whole batch), the status (only forward: a later run attempt, or a higher rank in
 * the same attempt), and the audit row.
 */
export async function applyRunUpdate(
  db: D1Database,
  deliveryId: string,
  requestId: string,
  update: RunUpdate,
  audit: AuditRecord,
): Promise<void> {
  const at = audit.at.toISOString();
  const rank = STATUS_RANK[update.status];
  await db.batch([
    db.prepare("INSERT INTO github_deliveries (delivery_id, received_at) VALUES (?, ?)").bind(deliveryId, at),
    db
      .prepare(
        `UPDATE dispatches SET status = ?, run_attempt = ?, conclusion = ?, run_url = ?, client_payload = NULL,
          updated_at = ?
        WHERE request_id = ? AND (run_attempt < ? OR (run_attempt = ? AND ${RANK_SQL} < ?))`,
      )
      .bind(
        update.status,
        update.runAttempt,
        update.conclusion,
        update.runUrl,
        at,
        requestId,
        update.runAttempt,
        update.runAttempt,
        rank,
      ),
    auditStatement(db, audit),
  ]);
}
