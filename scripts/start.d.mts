/** The environment that keeps wrangler offline-friendly. */
export const OFFLINE_ENV: Record<string, string>;
/** The `wrangler dev` flags that point the relay at the demo upstream. */
export function demoVarArgs(demoUrl: string): string[];
/** `--persist-to DIR` of the `wrangler dev` flags. */
export function persistArgs(devArgs: string[]): string[];
/** Runs wrangler with the same Node; its exit code and, with `capture`, what it printed. */
export function runWrangler(
  args: string[],
  options?: { env?: Record<string, string | undefined>; stdin?: "inherit" | "ignore"; capture?: boolean },
): Promise<{ code: number; output: string }>;
/** The migrations that wrangler's `d1 migrations apply` output reports applied, in order. */
export function appliedMigrations(output: string): string[];
/** Applies the D1 migrations to the local database without asking, printing one line per migration applied. */
export function applyMigrations(
  extraArgs?: string[],
  env?: Record<string, string | undefined>,
): Promise<{ code: number; applied: string[] }>;
/** `--log-level info` unless the `wrangler dev` flags choose a level. */
export function logLevelArgs(devArgs: string[]): string[];
