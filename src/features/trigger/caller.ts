import type { Context } from "hono";
import * as z from "zod";
import type { AppEnv } from "../../env";
import { Forbidden } from "../../errors";
import { integer, readConfig } from "../../lib/config";
import { NO_DEMAND } from "../../metering/demand";
import { admitRelayKey } from "../keys/admit";

/** Who triggers: the subject that owns the dispatches it creates, and the actor of its audit rows. */
export type TriggerCaller = { subject: string; actor: string };

/** RELAY_SECRET's subject: every device that shares the secret shares its dispatches. */
export const RELAY_SECRET_SUBJECT = "relay-secret";

const keyLimits = z.object({ TRIGGER_RATE_LIMIT: integer(10, 1) });

/**
 * Identifies the caller of a trigger route. RELAY_SECRET was checked by the route's guard (and limited per
 * IP). A relay key (`smr_…`) is checked here by its Meter: secret, revocation, expiry and its own per-minute
 * limit (TRIGGER_RATE_LIMIT when it has none); a trigger spends no tokens and no money, so a key's budget never
 * stands in its way. Without the `trigger` scope it gets 403. The slot it takes is kept, not settled: the
 * request counts against the key's rate, and no usage row is written for it.
 */
export async function triggerCaller<E extends AppEnv>(c: Context<E>): Promise<TriggerCaller> {
  const caller = c.get("caller");
  if (caller.kind !== "relay-key") return { subject: RELAY_SECRET_SUBJECT, actor: "operator" };
  const limits = { perMinute: readConfig(c.env, keyLimits).TRIGGER_RATE_LIMIT, budget: {}, queueMs: 0 };
  const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise);
  const { subject, admission } = await admitRelayKey(c.env, waitUntil, caller.secret, NO_DEMAND, limits);
  if (!admission.key?.scopes.includes("trigger")) {
    admission.release();
    throw new Forbidden("This relay key may not trigger (scope trigger)", "scope_not_allowed");
  }
  return { subject, actor: subject };
}
