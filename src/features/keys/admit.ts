import { BudgetExceeded, InternalError, RateLimited, Unauthorized } from "../../errors";
import { type Admission, admit, type MeterAccess, MeterRefused } from "../../metering/client";
import type { Demand } from "../../metering/demand";
import type { Limits } from "../../metering/state";
import { requestLimitHeaders } from "../../rate-limit/headers";
import { keyMeter } from "./routes";
import { hashSecret, keyIdOf } from "./secret";
import { findKey } from "./store";

/** The refusal a Meter's answer stands for: 429 over the key's rate or budget, else 401. */
export function meterRefusal(error: MeterRefused, now: number): Error {
  const { refusal } = error;
  switch (refusal.refused) {
    case "rate_limited":
      return new RateLimited(
        Math.max(1, Math.ceil(refusal.retryAfterMs / 1000)),
        requestLimitHeaders("subject", refusal.perMinute, 0, refusal.retryAfterMs),
      );
    case "budget_exceeded":
      return new BudgetExceeded(refusal.resetAt, now);
    case "invalid":
      return new InternalError();
    default:
      return new Unauthorized();
  }
}

/**
 * Admits one request of a relay key with `demand`: its Meter checks the secret, revocation, expiry,
 * per-minute limit and budget in one call (none while this isolate holds a lease). A Meter that lost the
 * key's configuration is configured again from D1, once. Refusals are thrown as the relay's errors; the
 * caller checks the key's scopes.
 */
export async function admitRelayKey(
  env: Env,
  waitUntil: MeterAccess["waitUntil"],
  secret: string,
  demand: Demand,
  limits: Limits,
): Promise<{ subject: string; admission: Admission }> {
  const id = keyIdOf(secret);
  if (id === undefined) throw new Unauthorized();
  const subject = `key:${id}`;
  const secretHash = await hashSecret(secret);
  const access = { meter: () => keyMeter(env, id), waitUntil };
  const now = Date.now();
  try {
    return { subject, admission: await admit(subject, demand, limits, access, secretHash) };
  } catch (error) {
    if (!(error instanceof MeterRefused)) throw error;
    if (error.refusal.refused !== "unconfigured") throw meterRefusal(error, now);
  }
  const key = await findKey(env.DB, id);
  if (!key) throw new Unauthorized();
  await keyMeter(env, id).configure(subject, key.config);
  try {
    return { subject, admission: await admit(subject, demand, limits, access, secretHash) };
  } catch (error) {
    throw error instanceof MeterRefused ? meterRefusal(error, now) : error;
  }
}
