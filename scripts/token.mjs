#!/usr/bin/env node
// `npm run -s token -- USER_ID [--ttl SECONDS]`: prints a local user JWT (HS256, signed with USER_JWT_SECRET
// from .dev.vars) and nothing else, so `TOKEN=$(npm run -s token -- user123)` works.
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { DEV_VARS_PATH, readDevVars } from "./dev-vars.mjs";

const USAGE = "usage: npm run -s token -- USER_ID [--ttl SECONDS]   (default --ttl 3600)";

/** A usage error: the message is for the user, and the exit code is 2. */
export class UsageError extends Error {}

/** The token a command line asks for; throws a UsageError. */
export function parseTokenCommand(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { ttl: { type: "string", default: "3600" } } });
  } catch (error) {
    throw new UsageError(`${error.message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || positionals[0] === "") throw new UsageError(USAGE);
  if (!/^[1-9]\d{0,9}$/.test(values.ttl))
    throw new UsageError(`--ttl must be a positive whole number of seconds\n${USAGE}`);
  return { userId: positionals[0], ttlSeconds: Number(values.ttl) };
}

/**
 * A user JWT for the relay: HS256, `sub`, `iat`, `exp` = now + ttl, and `iss` / `aud` when .dev.vars sets
 * USER_JWT_ISSUER / USER_JWT_AUDIENCE (the relay then checks them).
 */
export async function signUserToken({ userId, ttlSeconds }, vars, now = new Date()) {
  if (!vars.USER_JWT_SECRET) throw new Error("USER_JWT_SECRET is not set in .dev.vars");
  const issuedAt = Math.floor(now.getTime() / 1000);
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttlSeconds);
  if (vars.USER_JWT_ISSUER) jwt.setIssuer(vars.USER_JWT_ISSUER);
  if (vars.USER_JWT_AUDIENCE) jwt.setAudience(vars.USER_JWT_AUDIENCE);
  return jwt.sign(new TextEncoder().encode(vars.USER_JWT_SECRET));
}

/** Runs the command: the token on stdout, errors on stderr; resolves to the exit code. */
export async function runToken(argv, devVars = DEV_VARS_PATH) {
  try {
    const command = parseTokenCommand(argv);
    console.log(await signUserToken(command, readDevVars(devVars)));
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return error instanceof UsageError ? 2 : 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runToken(process.argv.slice(2));
}
