import type { Context } from "hono";
import * as z from "zod";
import { validate } from "../../lib/request";
import { idempotencyKey } from "./schema";

const header = z.object({ "Idempotency-Key": idempotencyKey });

/** The request's `Idempotency-Key`, checked (400 naming it when malformed), or undefined when absent. */
export function idempotencyKeyOf(headers: Headers): string | undefined {
  const value = headers.get("Idempotency-Key");
  return value === null ? undefined : validate(header, { "Idempotency-Key": value })["Idempotency-Key"];
}

/** The answer of a dispatching route: 202 Accepted while the queue holds the dispatch, else 200. */
export function dispatchAnswer<R extends object>(c: Context, result: R): Response {
  return c.json({ success: true, ...result }, "queued" in result ? 202 : 200);
}
