// The benchmark's D1: workerd's own D1 client (`cloudflare-internal:d1-api`) over a Durable Object with SQLite
// storage, speaking the client's HTTP protocol (`POST /query` and `/execute`, one or many statements). Raw
// workerd has no D1 of its own; the chat path does not touch it (keys are created before the load, usage
// totals are written in the background), so its speed does not enter the numbers.
import { DurableObject } from "cloudflare:workers";

export class Database extends DurableObject {
  async fetch(request) {
    const format = new URL(request.url).searchParams.get("resultsFormat") ?? "ARRAY_OF_OBJECTS";
    const body = await request.json();
    const statements = Array.isArray(body) ? body : [body];
    try {
      const results = this.ctx.storage.transactionSync(() =>
        statements.map(({ sql, params }) => {
          const cursor = this.ctx.storage.sql.exec(sql, ...(params ?? []));
          const rows = [...cursor.raw()];
          const columns = cursor.columnNames;
          return {
            success: true,
            results:
              format === "ROWS_AND_COLUMNS"
                ? { columns, rows }
                : rows.map((row) => Object.fromEntries(columns.map((name, i) => [name, row[i]]))),
            meta: {
              duration: 0,
              changes: cursor.rowsWritten,
              last_row_id: 0,
              changed_db: cursor.rowsWritten > 0,
              rows_read: cursor.rowsRead,
              rows_written: cursor.rowsWritten,
            },
          };
        }),
      );
      return Response.json(Array.isArray(body) ? results : results[0]);
    } catch (error) {
      return Response.json({ success: false, error: String(error?.message ?? error) });
    }
  }
}

export default {
  fetch(request, env) {
    return env.DATABASE.getByName("db").fetch(request);
  },
};
