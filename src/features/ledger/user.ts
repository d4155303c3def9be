import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { Unauthorized } from "../../errors";
import { readConfig } from "../../lib/config";
import { userJwtConfig, verifyUserJwt } from "../../lib/user-jwt";
import { type LedgerUser, ledgerUserId } from "./identity";

/** The ledger user of a verified token: its `sub`, and the ledger id it maps to (identity.ts). */
export async function userOfToken(env: Env, token: string, now: Date): Promise<LedgerUser> {
  const subject = await verifyUserJwt(readConfig(env, userJwtConfig), token, now);
  return { id: await ledgerUserId(subject), subject };
}

/**
 * The verified user of a request's `Authorization: Bearer <JWT>`, or undefined when no credential is sent. A
 * credential that is not a user token that verifies is a 401, never silently ignored.
 */
export async function userFrom(c: Context<AppEnv>, now = new Date()): Promise<LedgerUser | undefined> {
  const caller = c.get("caller");
  if (caller.kind === "none") return undefined;
  if (caller.kind !== "user-jwt") throw new Unauthorized("Invalid or expired user token");
  return userOfToken(c.env, caller.token, now);
}

/** Like `userFrom`, but a missing token is a 401 too. */
export async function requireUser(c: Context<AppEnv>, now = new Date()): Promise<LedgerUser> {
  const user = await userFrom(c, now);
  if (user === undefined) throw new Unauthorized("A user token is required");
  return user;
}
