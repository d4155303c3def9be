/** The environment that keeps wrangler offline-friendly. */
export const OFFLINE_ENV: Record<string, string>;
/** The `wrangler dev` flags that point the relay at the demo upstream. */
export function demoVarArgs(demoUrl: string): string[];
/** `--persist-to DIR` of the `wrangler dev` flags. */
export function persistArgs(devArgs: string[]): string[];
/** Runs wrangler with the same Node and resolves to its exit code. */
export function runWrangler(
  args: string[],
  options?: { env?: Record<string, string | undefined>; stdin?: "inherit" | "ignore" },
): Promise<number>;
/** Applies the D1 migrations to the local database without asking; resolves to wrangler's exit code. */
export function applyMigrations(extraArgs?: string[], env?: Record<string, string | undefined>): Promise<number>;
