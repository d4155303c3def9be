/** One audit row (DESIGN.md, "Conventions"): time, actor, action, target, outcome, dry run. */
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
