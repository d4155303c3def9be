import type { Context } from "hono";
import { chatCaller } from "../../caller/identify";
import type { AppEnv } from "../../env";
import { Forbidden } from "../../errors";
import { type Admission, admit, type MeterAccess, MeterRefused } from "../../metering/client";
import type { Demand } from "../../metering/demand";
import type { Limits } from "../../metering/state";
import { requestLimitHeaders, tokenLimitHeaders } from "../../rate-limit/headers";
import { admitRelayKey, meterRefusal } from "../keys/admit";
import { readEntitlements } from "../ledger/read";
import { ledgerOf } from "../ledger/routes";
import { userOfToken } from "../ledger/user";
import { paymentRequired } from "../library/access";
import type { MeteringConfig } from "./config";

/** Whose request it is (its metered subject), and what the Meter admitted (null for RELAY_SECRET, limited per IP). */
export type Admitted = { subject: string; admission: Admission | null };

/** The subject RELAY_SECRET's usage is metered as. */
export const RELAY_SECRET_SUBJECT = "relay-secret";

function accessOf(c: Context<AppEnv>, subject: string): MeterAccess {
  return {
    meter: () => c.env.METER.getByName(subject),
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  };
}

async function admitted(run: () => Promise<Admission>, now: number): Promise<Admission> {
  try {
    return await run();
  } catch (error) {
    throw error instanceof MeterRefused ? meterRefusal(error, now) : error;
  }
}

/**
 * The rate-limit headers of an answer a Meter admitted (a relay key's, a user's): its per-minute limit in the
 * IETF draft's form and OpenAI's, and OpenAI's token trio where a monthly token budget applies.
 */
export function limitHeadersOf(admission: Admission): Record<string, string> {
  const { perMinute, remaining, resetMs, tokens } = admission.limits;
  return {
    ...requestLimitHeaders("subject", perMinute, remaining, resetMs),
    ...(tokens ? tokenLimitHeaders(tokens.budget, tokens.remaining, tokens.resetMs) : {}),
  };
}

/** Admits a relay key's request (src/features/keys/admit.ts); the key must have the `chat` scope. */
async function admitKey(c: Context<AppEnv>, secret: string, demand: Demand, limits: Limits): Promise<Admitted> {
  const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise);
  const { subject, admission } = await admitRelayKey(c.env, waitUntil, secret, demand, limits);
  if (!admission.key?.scopes.includes("chat")) {
    admission.release();
    throw new Forbidden("This relay key may not chat (scope chat)", "scope_not_allowed");
  }
  return { subject, admission };
}

/**
 * Admits a signed-in user's request (CHAT_USER_JWT=true): an active subscription is required (else 402 with
 * the links that grant one), and its tier's TIER_TOKEN_BUDGETS entry is the monthly token budget.
 */
async function admitUser(
  c: Context<AppEnv>,
  token: string,
  demand: Demand,
  limits: Limits,
  config: MeteringConfig,
): Promise<Admitted> {
  const now = new Date();
  const user = await userOfToken(c.env, token, now);
  const entitlements = await readEntitlements(ledgerOf(c.env), user, now);
  const tier = entitlements.subscription?.status === "active" ? entitlements.subscription.tier : undefined;
  if (tier === undefined)
    throw paymentRequired(c.env, undefined, user.id, "An active subscription is required to chat");
  const tokens = config.TIER_TOKEN_BUDGETS[tier as keyof MeteringConfig["TIER_TOKEN_BUDGETS"]];
  const budget = tokens === undefined ? {} : { tokens };
  const subject = `user:${user.id}`;
  const admission = await admitted(
    () => admit(subject, demand, { ...limits, budget }, accessOf(c, subject)),
    now.getTime(),
  );
  return { subject, admission };
}

/**
 * Admits the caller of a chat request with `demand` (the guard let only chat callers through): a relay key or
 * user by its Meter; RELAY_SECRET, limited per IP, without a Meter call.
 */
export async function admitCaller(c: Context<AppEnv>, demand: Demand, config: MeteringConfig): Promise<Admitted> {
  const limits: Limits = { perMinute: config.RATE_LIMIT_REQUESTS, budget: {}, queueMs: config.RATE_LIMIT_QUEUE_MS };
  const caller = chatCaller(c);
  let admitted: Admitted;
  switch (caller?.kind) {
    case "relay-key":
      admitted = await admitKey(c, caller.secret, demand, limits);
      break;
    case "user-jwt":
      admitted = await admitUser(c, caller.token, demand, limits, config);
      break;
    default:
      return { subject: RELAY_SECRET_SUBJECT, admission: null };
  }
  if (admitted.admission) c.set("meteredLimits", limitHeadersOf(admitted.admission));
  return admitted;
}

/** Where RELAY_SECRET's usage is reported. */
export function relaySecretAccess(c: Context<AppEnv>): MeterAccess {
  return accessOf(c, RELAY_SECRET_SUBJECT);
}
