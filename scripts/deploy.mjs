#!/usr/bin/env node
// `npm run deploy [-- wrangler deploy flags]`: puts the relay on Cloudflare's network.
// wrangler.jsonc names its D1 database, KV namespace and R2 bucket without ids, so the first `wrangler deploy`
// creates them (Wrangler's automatic provisioning) and later deploys reuse them. D1 migrations run before a
// deploy, so new code never meets an old schema; on the very first deploy the database does not exist yet,
// so they run right after it instead. `--dry-run` only builds: no migration touches the remote database, so
// it needs neither a Cloudflare login nor a network.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");

/** Runs wrangler, passing its output through; never asks (CI=true answers its confirmations). */
function wrangler(args, { quiet = false } = {}) {
  const result = spawnSync("wrangler", args, {
    cwd: root,
    env: { ...process.env, CI: "true" },
    stdio: quiet ? "pipe" : "inherit",
    encoding: "utf8",
  });
  return { status: result.status ?? 1, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

const deployArgs = process.argv.slice(2);
if (deployArgs.includes("--dry-run")) process.exit(wrangler(["deploy", ...deployArgs]).status);

const migrate = () => wrangler(["d1", "migrations", "apply", "DB", "--remote"], { quiet: true });

const before = migrate();
const firstDeploy = before.status !== 0 && /couldn't find|not found|does not exist/i.test(before.output);
if (before.status !== 0 && !firstDeploy) {
  process.stderr.write(before.output);
  process.exit(before.status);
}
const deployed = wrangler(["deploy", ...deployArgs]);
if (deployed.status !== 0) process.exit(deployed.status);
if (firstDeploy) {
  const after = migrate();
  process.stdout.write(after.output);
  process.exit(after.status);
}
process.stdout.write(before.output);
