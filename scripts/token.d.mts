/** A usage error: the message is for the user, and the exit code is 2. */
export class UsageError extends Error {}
/** What `npm run token` signs. */
export type TokenCommand = { userId: string; ttlSeconds: number };
/** The token a command line asks for; throws a UsageError. */
export function parseTokenCommand(argv: string[]): TokenCommand;
/** A user JWT for the relay (HS256 with USER_JWT_SECRET; `iss` / `aud` when set). */
export function signUserToken(
  command: TokenCommand,
  vars: Record<string, string | undefined>,
  now?: Date,
): Promise<string>;
/** Runs the command: the token on stdout, errors on stderr; resolves to the exit code. */
export function runToken(argv: string[], devVars?: string): Promise<number>;
