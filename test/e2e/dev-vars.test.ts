import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  createDevVars,
  DEV_VARS_EXAMPLE_PATH,
  fillDevVars,
  parseDevVars,
  readDevVars,
} from "../../scripts/dev-vars.mjs";

const example = readFileSync(DEV_VARS_EXAMPLE_PATH, "utf8");
const dir = mkdtempSync(join(tmpdir(), "dev-vars-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What bash reads from `set -a; . FILE; set +a`: every variable of `names`, as JSON. */
function sourceWithBash(file: string, names: string[]): Record<string, string> {
  const script = `set -euo pipefail; set -a; . "$1"; set +a; shift; for name in "$@"; do printf '%s\\0%s\\0' "$name" "\${!name-}"; done`;
  const result = spawnSync("bash", ["--norc", "--noprofile", "-c", script, "bash", file, ...names], {
    encoding: "utf8",
    env: { ...process.env, BASH_ENV: undefined },
    stdio: ["ignore", "pipe", "pipe"],
  });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  const fields = result.stdout.split("\0");
  const vars: Record<string, string> = {};
  for (let index = 0; index + 1 < fields.length; index += 2) vars[fields[index] ?? ""] = fields[index + 1] ?? "";
  return vars;
}

describe(".dev.vars.example", () => {
  it("has only comments, blank lines and shell-safe NAME=value lines", () => {
    for (const line of example.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      expect(line).toMatch(/^[A-Z][A-Z0-9_]*=([A-Za-z0-9_./:@%+,-]*|'[^']*')$/);
    }
  });

  it("keeps the Worker vars commented, so `wrangler types` types no var as a secret", () => {
    const active = Object.keys(parseDevVars(example));
    expect(active).not.toContain("HIVE_REPOSITORY");
    expect(active).not.toContain("ALLOWED_REPOS");
    expect(example).toMatch(/^#local HIVE_REPOSITORY=your-org\/hive$/m);
  });

  it("leaves OPENAI_API_KEY empty (the demo upstream) and every other secret to be generated", () => {
    expect(parseDevVars(example).OPENAI_API_KEY).toBe("");
    expect(parseDevVars(example).RELAY_SECRET).toBe("change-me");
  });
});

describe("a generated .dev.vars", () => {
  const file = join(dir, ".dev.vars");

  it("is created once, readable only by its owner, with fresh secrets and the local vars active", () => {
    expect(createDevVars(DEV_VARS_EXAMPLE_PATH, file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const vars = readDevVars(file);
    expect(Object.values(vars)).not.toContain("change-me");
    expect(vars.RELAY_SECRET).toMatch(/^[0-9a-f]{48}$/);
    expect(vars.RELAY_SECRET).not.toBe(vars.ADMIN_TOKEN);
    expect(vars).toMatchObject({ OPENAI_API_KEY: "", HIVE_REPOSITORY: "your-org/hive", ALLOWED_REPOS: "your-org/*" });
    writeFileSync(file, "RELAY_SECRET=kept\n");
    expect(createDevVars(DEV_VARS_EXAMPLE_PATH, file)).toBe(false);
    expect(readDevVars(file)).toEqual({ RELAY_SECRET: "kept" });
  });

  it("loads into bash with `set -a; . ./.dev.vars; set +a`, every value as the scripts read it", () => {
    const generated = join(dir, "generated.dev.vars");
    writeFileSync(generated, fillDevVars(example));
    const vars = readDevVars(generated);
    expect(Object.keys(vars).length).toBeGreaterThan(10);
    expect(sourceWithBash(generated, Object.keys(vars))).toEqual(vars);
  });

  it("says how to create it when it is missing", () => {
    expect(() => readDevVars(join(dir, "missing"))).toThrow(/does not exist: run `npm start` once/);
  });
});

describe("parseDevVars", () => {
  it("reads quoted and unquoted values, and skips comments and blank lines", () => {
    const text = "# comment\n\nA=1\nB='x y'\nC=\"z\"\nexport D=d # note\nE=\n  # indented comment\n";
    expect(parseDevVars(text)).toEqual({ A: "1", B: "x y", C: "z", D: "d", E: "" });
  });
});
