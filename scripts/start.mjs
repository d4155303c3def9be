#!/usr/bin/env node
// `npm start [-- wrangler dev flags]`: serves the relay on http://localhost:8787 with local state, and never
// asks anything. First run: creates .dev.vars from .dev.vars.example with fresh random secrets. Without an
// OPENAI_API_KEY in .dev.vars, chat goes to the offline demo upstream (scripts/demo-upstream.mjs).
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DEMO_API_KEY, startDemoUpstream, usesDemoUpstream } from "./demo-upstream.mjs";
import { createDevVars, DEV_VARS_PATH, readDevVars } from "./dev-vars.mjs";

const root = resolve(import.meta.dirname, "..");
const wranglerBin = resolve(root, "node_modules/wrangler/bin/wrangler.js");

/** Offline-friendly: no Request.cf download (its failure only prints a warning) and no telemetry prompt. */
export const OFFLINE_ENV = { CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

/** The `wrangler dev` flags that point the relay at the demo upstream; they override .dev.vars and wrangler.jsonc. */
export function demoVarArgs(demoUrl) {
  return ["--var", `OPENAI_BASE_URL:${demoUrl}`, "--var", `OPENAI_API_KEY:${DEMO_API_KEY}`];
}

/** `--persist-to DIR` of the `wrangler dev` flags, so the migrations go to the state `wrangler dev` will use. */
export function persistArgs(devArgs) {
  const index = devArgs.findIndex((arg) => arg === "--persist-to" || arg.startsWith("--persist-to="));
  if (index === -1) return [];
  return devArgs[index].includes("=") ? [devArgs[index]] : devArgs.slice(index, index + 2);
}

/**
 * Runs wrangler with the same Node and resolves to its exit code and, with `capture`, what it printed (which
 * then does not reach the terminal). While it runs, SIGINT, SIGTERM and SIGHUP sent to this process are passed
 * on to it, so it can stop its workerd and free the port.
 */
export function runWrangler(args, { env = process.env, stdin = "inherit", capture = false } = {}) {
  const child = spawn(process.execPath, [wranglerBin, ...args], {
    cwd: root,
    env: { ...OFFLINE_ENV, ...env },
    stdio: [stdin, capture ? "pipe" : "inherit", capture ? "pipe" : "inherit"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const forward = (signal) => child.kill(signal);
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const signal of signals) process.on(signal, forward);
  return new Promise((done) => {
    const finish = (code) => {
      for (const signal of signals) process.off(signal, forward);
      done({ code, output });
    };
    child.once("error", (error) => {
      console.error(`Could not run wrangler: ${error.message}`);
      finish(1);
    });
    child.once("close", (code, signal) => finish(code ?? (signal ? 128 + signalNumber(signal) : 1)));
  });
}

function signalNumber(signal) {
  return { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal] ?? 0;
}

/**
 * The migrations that wrangler's `d1 migrations apply` output reports applied (✅), in order. Wrangler prints
 * the whole status table again after each migration; the last row of each name is its outcome.
 */
export function appliedMigrations(output) {
  const outcome = new Map();
  for (const [, name, mark] of output.matchAll(/^│ (\S+\.sql) *│ (\S+) *│$/gmu)) outcome.set(name, mark);
  return [...outcome].filter(([, mark]) => mark === "✅").map(([name]) => name);
}

/**
 * Applies the D1 migrations to the local database without asking (wrangler confirms only when stdin and
 * stdout are terminals and CI is unset, and otherwise takes the default answer, yes) and without wrangler's
 * tables: one line per migration applied. A failure prints everything wrangler said.
 */
export async function applyMigrations(extraArgs = [], env = process.env) {
  const { code, output } = await runWrangler(["d1", "migrations", "apply", "DB", "--local", ...extraArgs], {
    env: { ...env, CI: "true" },
    stdin: "ignore",
    capture: true,
  });
  const applied = appliedMigrations(output);
  for (const name of applied) console.log(`Applied migration ${name}`);
  if (code !== 0) process.stderr.write(output);
  return { code, applied };
}

/**
 * `--log-level info` unless the flags choose a level: wrangler's banner and its table of every binding and
 * var (about 80 lines) are printed at the default level, `log`; warnings, errors, "Ready on", each request
 * and the Worker's own log lines (console.info, console.warn, console.error) still show.
 */
export function logLevelArgs(devArgs) {
  return devArgs.some((arg) => arg === "--log-level" || arg.startsWith("--log-level=")) ? [] : ["--log-level", "info"];
}

function hasMigrations() {
  const migrations = resolve(root, "migrations");
  return existsSync(migrations) && readdirSync(migrations).some((file) => file.endsWith(".sql"));
}

async function main() {
  const devArgs = process.argv.slice(2);
  if (createDevVars()) {
    console.log(`Created ${DEV_VARS_PATH} with fresh random local secrets (RELAY_SECRET and the others).`);
  }
  console.log(`Local secrets: ${DEV_VARS_PATH} (load them into a shell: set -a; . ./.dev.vars; set +a).`);

  if (hasMigrations()) {
    const { code } = await applyMigrations(persistArgs(devArgs));
    if (code !== 0) process.exit(code);
  }

  let demo;
  if (usesDemoUpstream(readDevVars())) {
    demo = await startDemoUpstream();
    console.log(
      `Chat uses the offline demo upstream at ${demo.url} (model "demo"): OPENAI_API_KEY in .dev.vars is empty. ` +
        "Put a real key there (OPENAI_API_KEY=sk-...) and run npm start again to chat with OpenAI.",
    );
  }
  const demoArgs = demo ? demoVarArgs(demo.url) : [];
  const { code } = await runWrangler(["dev", ...logLevelArgs(devArgs), ...demoArgs, ...devArgs]);
  await demo?.close();
  process.exit(code);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
