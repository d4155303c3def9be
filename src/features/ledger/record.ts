import type { HistoryEvent } from "../../admin-api";
import { type LedgerRecord, toHistoryEvent } from "./change";
import { importFromKv, type Ledger } from "./kv-import";
import { writeChange } from "./store";

/** What recording a change did: applied once, or nothing because its source event id was seen before. */
export type RecordOutcome = { status: "applied"; event: HistoryEvent } | { status: "duplicate" };

/**
 * Records one change (store.ts, `writeChange`), importing the user's original KV record first so that the
 * change adds to it.
 */
export async function recordChange(
  ledger: Ledger,
  record: LedgerRecord,
  now: Date,
  extra: D1PreparedStatement[] = [],
): Promise<RecordOutcome> {
  await importFromKv(ledger, { id: record.userId }, now);
  const row = await writeChange(ledger.db, record, now, extra);
  return row ? { status: "applied", event: toHistoryEvent(row) } : { status: "duplicate" };
}
