#!/usr/bin/env node
// `npm start [-- wrangler dev flags]`: serves the relay on http://localhost:8787 with local state.
// First run: creates .dev.vars from .dev.vars.example with fresh random secrets, so nothing needs configuring.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const devVars = resolve(root, ".dev.vars");

if (!existsSync(devVars)) {
  const example = readFileSync(resolve(root, ".dev.vars.example"), "utf8");
  const filled = example.replace(/=change-me$/gm, () => `=${randomBytes(24).toString("hex")}`);
  writeFileSync(devVars, filled, { mode: 0o600 });
  console.log(`Created ${devVars} with fresh random local secrets (RELAY_SECRET and the others).`);
}
console.log(`Local secrets: ${devVars} (edit it to set OPENAI_API_KEY, OPENAI_BASE_URL, …).`);

// Offline-friendly: no Request.cf download (its failure only prints a warning) and no telemetry prompt.
const env = { CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", ...process.env };
const wrangler = (args) => spawnSync("wrangler", args, { cwd: root, stdio: "inherit", env });

const migrations = resolve(root, "migrations");
if (existsSync(migrations) && readdirSync(migrations).some((file) => file.endsWith(".sql"))) {
  const applied = wrangler(["d1", "migrations", "apply", "DB", "--local"]);
  if (applied.status !== 0) process.exit(applied.status ?? 1);
}

const dev = wrangler(["dev", ...process.argv.slice(2)]);
process.exit(dev.status ?? 1);
