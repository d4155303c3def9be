/** Only primitives may be logged: it keeps bodies, prompts and payloads out of log lines by construction. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/**
 * Collects the fields of the one JSON line logged per request, and writes extra lines for events that
 * happen after the response has started (a stream that broke, an audit write that failed).
 */
export class Logger {
  readonly #fields: LogFields;

  constructor(base: LogFields) {
    this.#fields = { ...base };
  }

  /** Adds fields to this request's line. */
  set(fields: LogFields): void {
    Object.assign(this.#fields, fields);
  }

  /** Writes the request line. */
  flush(fields: LogFields): void {
    writeLine("info", { msg: "request", ...this.#fields, ...fields });
  }

  /** Writes one extra line tied to this request. */
  event(level: "info" | "warn" | "error", msg: string, fields: LogFields = {}): void {
    writeLine(level, { msg, request_id: this.#fields.request_id, ...fields });
  }
}

// console.info / warn / error rather than console.log: Workers Logs take the level from the method, and
// `wrangler dev --log-level info` (what `npm start` runs) shows these but hides console.log.
function writeLine(level: "info" | "warn" | "error", fields: LogFields): void {
  console[level](JSON.stringify({ level, time: new Date().toISOString(), ...fields }));
}
