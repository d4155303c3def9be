// The local secrets file `.dev.vars`: created from `.dev.vars.example` on the first `npm start`, read by the
// other scripts (token, webhook, start). Also valid shell: `set -a; . ./.dev.vars; set +a`.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");

/** Where `npm start` keeps the local secrets. */
export const DEV_VARS_PATH = resolve(root, ".dev.vars");

/** The committed template of `.dev.vars`. */
export const DEV_VARS_EXAMPLE_PATH = resolve(root, ".dev.vars.example");

// Worker vars (wrangler.jsonc) that a new .dev.vars overrides are commented out in the example with this
// prefix: `wrangler types --env-file .dev.vars.example` would otherwise type them as secrets.
const LOCAL_VAR_PREFIX = /^#local /gm;

/** The text of a new `.dev.vars`: every `=change-me` a fresh random hex secret, every `#local ` line active. */
export function fillDevVars(example) {
  return example.replace(/=change-me$/gm, () => `=${randomBytes(24).toString("hex")}`).replace(LOCAL_VAR_PREFIX, "");
}

/** Creates `target` from `example` unless it exists (readable only by its owner); true when it created it. */
export function createDevVars(example = DEV_VARS_EXAMPLE_PATH, target = DEV_VARS_PATH) {
  if (existsSync(target)) return false;
  writeFileSync(target, fillDevVars(readFileSync(example, "utf8")), { mode: 0o600 });
  return true;
}

/**
 * The variables of a dotenv text, as wrangler and a POSIX shell both read the shell-safe subset the example
 * uses: `NAME=value`, `NAME='value'` or `NAME="value"`, comments and blank lines skipped.
 */
export function parseDevVars(text) {
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    const [, name, raw] = match;
    const quoted = /^(['"])(.*)\1$/.exec(raw);
    vars[name] = quoted ? quoted[2] : raw.replace(/\s+#.*$/, "");
  }
  return vars;
}

/** The variables of `.dev.vars`; throws an Error for the user when the file is missing. */
export function readDevVars(path = DEV_VARS_PATH) {
  if (!existsSync(path)) {
    throw new Error(`${path} does not exist: run \`npm start\` once to create it with fresh local secrets`);
  }
  return parseDevVars(readFileSync(path, "utf8"));
}
