import type { AuditCount, AuditRow } from "../admin-api";
import { spanTimes } from "../lib/day-span";
/** One audit row (docs/api.md, "Conventions"): time, actor, action, target, outcome, dry run. */
export type AuditRecord = {
  at: Date;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  dryRun?: boolean;
  requestId?: string;
};

/**
 * The INSERT for one audit row, as a statement so that a feature can put it into the same atomic
 * `db.batch([...])` as the state change it records.
 */
export function auditStatement(db: D1Database, record: AuditRecord): D1PreparedStatement {
  return db
    .prepare(
      "INSERT INTO audit_log (at, actor, action, target, outcome, dry_run, request_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(
      record.at.toISOString(),
      record.actor,
      record.action,
      record.target,
      record.outcome,
      record.dryRun ? 1 : 0,
      record.requestId ?? null,
    );
}

/** Writes one audit row on its own. */
export async function writeAudit(db: D1Database, record: AuditRecord): Promise<void> {
  await auditStatement(db, record).run();
}

/** Only the records of this actor and (or) action. */
export type AuditFilter = { actor?: string; action?: string };

/**
 * A page of the audit log, newest first: up to `limit` rows older than the row `before` (an id) that match
 * `filter`, and the id to continue from, or null when nothing older remains.
 */
export async function readAuditPage(
  db: D1Database,
  limit: number,
  before = Number.MAX_SAFE_INTEGER,
  filter: AuditFilter = {},
): Promise<{ rows: AuditRow[]; next: number | null }> {
  const conditions = ["id < ?"];
  const params: Array<string | number> = [before];
  if (filter.actor !== undefined) {
    conditions.push("actor = ?");
    params.push(filter.actor);
  }
  if (filter.action !== undefined) {
    conditions.push("action = ?");
    params.push(filter.action);
  }
  // One row more than asked tells whether another page exists.
  const { results } = await db
    .prepare(
      `SELECT id, at, actor, action, target, outcome, dry_run FROM audit_log WHERE ${conditions.join(" AND ")}
      ORDER BY id DESC LIMIT ?`,
    )
    .bind(...params, limit + 1)
    .all<Omit<AuditRow, "dry_run"> & { id: number; dry_run: number }>();
  const page = results.slice(0, limit);
  const last = page.at(-1);
  return {
    rows: page.map(({ id: _, dry_run, ...row }) => ({ ...row, dry_run: dry_run === 1 })),
    next: results.length > limit && last ? last.id : null,
  };
}

/**
 * The records between two UTC days (both included), counted by actor, action and outcome: most first.
 * No index on `at`: one pass over the table, which an operator's occasional look can afford.
 */
export async function countAudit(db: D1Database, from: string, to: string): Promise<AuditCount[]> {
  const { start, end } = spanTimes(from, to);
  const { results } = await db
    .prepare(
      `SELECT actor, action, outcome, COUNT(*) AS count FROM audit_log WHERE at >= ? AND at < ?
      GROUP BY actor, action, outcome ORDER BY count DESC, actor, action, outcome`,
    )
    .bind(start, end)
    .all<AuditCount>();
  return results;
}
