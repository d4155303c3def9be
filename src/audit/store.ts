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

/** One row of `audit_log` as `GET /admin/audit` shows it. */
export type AuditRow = { at: string; actor: string; action: string; target: string; outcome: string; dry_run: boolean };

/**
 * A page of the audit log, newest first: up to `limit` rows older than the row `before` (an id), and the
 * id to continue from, or null when nothing older remains.
 */
export async function readAuditPage(
  db: D1Database,
  limit: number,
  before = Number.MAX_SAFE_INTEGER,
): Promise<{ rows: AuditRow[]; next: number | null }> {
  // One row more than asked tells whether another page exists.
  const { results } = await db
    .prepare(
      "SELECT id, at, actor, action, target, outcome, dry_run FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?",
    )
    .bind(before, limit + 1)
    .all<Omit<AuditRow, "dry_run"> & { id: number; dry_run: number }>();
  const page = results.slice(0, limit);
  const last = page.at(-1);
  return {
    rows: page.map(({ id: _, dry_run, ...row }) => ({ ...row, dry_run: dry_run === 1 })),
    next: results.length > limit && last ? last.id : null,
  };
}
