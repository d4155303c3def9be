import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { appliedMigrations, applyMigrations, demoVarArgs, logLevelArgs, persistArgs } from "../../scripts/start.mjs";
import { freePort } from "./dev-server";

const root = resolve(import.meta.dirname, "../..");
const migrations = readdirSync(join(root, "migrations"))
  .filter((file) => file.endsWith(".sql"))
  .sort();

/** What `wrangler d1 migrations apply` prints while it applies two migrations (wrangler 4). */
const WRANGLER_APPLY_OUTPUT = `Migrations to be applied:
┌─────────────────┐
│ name            │
├─────────────────┤
│ 0001_audit.sql  │
├─────────────────┤
│ 0002_ledger.sql │
└─────────────────┘
┌─────────────────┬────────┐
│ name            │ status │
├─────────────────┼────────┤
│ 0001_audit.sql  │ ✅     │
├─────────────────┼────────┤
│ 0002_ledger.sql │ 🕒️    │
└─────────────────┴────────┘
┌─────────────────┬────────┐
│ name            │ status │
├─────────────────┼────────┤
│ 0001_audit.sql  │ ✅     │
├─────────────────┼────────┤
│ 0002_ledger.sql │ ✅     │
└─────────────────┴────────┘
`;

describe("scripts/start.mjs", () => {
  it("points wrangler dev at the demo upstream with --var flags", () => {
    expect(demoVarArgs("http://127.0.0.1:4000/v1")).toEqual([
      "--var",
      "OPENAI_BASE_URL:http://127.0.0.1:4000/v1",
      "--var",
      "OPENAI_API_KEY:demo",
    ]);
  });

  it("applies the migrations where wrangler dev keeps its state", () => {
    expect(persistArgs(["--port", "9000"])).toEqual([]);
    expect(persistArgs(["--persist-to", "/tmp/s", "--port", "9000"])).toEqual(["--persist-to", "/tmp/s"]);
    expect(persistArgs(["--persist-to=/tmp/s"])).toEqual(["--persist-to=/tmp/s"]);
  });

  it("runs wrangler dev at log level info unless the flags choose one", () => {
    expect(logLevelArgs(["--port", "9000"])).toEqual(["--log-level", "info"]);
    expect(logLevelArgs(["--log-level", "debug"])).toEqual([]);
    expect(logLevelArgs(["--log-level=log"])).toEqual([]);
  });

  it("reads the migrations applied from wrangler's status tables, each once, only those that succeeded", () => {
    expect(appliedMigrations(WRANGLER_APPLY_OUTPUT)).toEqual(["0001_audit.sql", "0002_ledger.sql"]);
    const failed = WRANGLER_APPLY_OUTPUT.replace(/(0002_ledger\.sql │ )✅ /, "$1❌ ");
    expect(appliedMigrations(failed)).toEqual(["0001_audit.sql"]);
    expect(appliedMigrations("✅ No migrations to apply!\n")).toEqual([]);
  });
});

/** Runs `command` inside a pseudo-terminal (util-linux `script`) that nobody types into, in `cwd`. */
function runInTerminal(command: string, cwd: string) {
  const child = spawn("script", ["-qefc", command, "/dev/null"], { cwd, stdio: ["pipe", "pipe", "pipe"] });
  const run = { child, output: "" };
  child.stdout.on("data", (chunk) => (run.output += chunk));
  child.stderr.on("data", (chunk) => (run.output += chunk));
  return run;
}

/** Waits until `done()` holds, checking every 100 ms, for at most `ms`. */
async function waitFor(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  return done();
}

// The text a terminal shows: colour and cursor codes removed, carriage returns as line ends.
const plain = (text: string) => stripVTControlCharacters(text).replace(/\r\n?/g, "\n");

// A fresh clone's first `npm start` in a real terminal: the project copied without .dev.vars and .wrangler,
// node_modules linked. It must never ask, apply the migrations without wrangler's tables and reach "Ready"
// in under 40 lines, and still show the Worker's own log lines.
describe("a fresh clone's `npm start` in a terminal", () => {
  let clone: string;
  let port: number;
  let start: { child: ChildProcess; output: string };
  let beforeReady: string[];

  beforeAll(async () => {
    clone = mkdtempSync(join(tmpdir(), "relay-start-"));
    const copied = ["package.json", "wrangler.jsonc", "tsconfig.json", ".dev.vars.example"];
    for (const entry of [...copied, "migrations", "scripts", "src", "console"]) {
      cpSync(join(root, entry), join(clone, entry), {
        recursive: true,
        filter: (source) => !source.startsWith(join(root, "console/dist")),
      });
    }
    symlinkSync(join(root, "node_modules"), join(clone, "node_modules"));
    port = await freePort();
    const flags = `--ip 127.0.0.1 --port ${port} --inspector-port ${await freePort()}`;
    start = runInTerminal(`npm start -- ${flags}`, clone);
    // wrangler dev builds and starts workerd: seconds on a quiet machine, far more on a loaded one.
    const ready = await waitFor(
      () => /Ready on http/.test(plain(start.output)) || start.child.exitCode !== null,
      150_000,
    );
    expect(ready, `npm start printed:\n${start.output}`).toBe(true);
    const lines = plain(start.output).split("\n");
    beforeReady = lines.slice(
      0,
      lines.findIndex((line) => line.includes("Ready on http")),
    );
  }, 180_000);

  afterAll(async () => {
    if (start?.child.exitCode === null) {
      // `script` hangs up the terminal: start.mjs passes the SIGHUP on to wrangler, which stops workerd.
      const exited = new Promise((done) => start.child.once("exit", done));
      start.child.kill("SIGTERM");
      await Promise.race([exited, new Promise((done) => setTimeout(done, 20_000).unref())]);
      if (start.child.exitCode === null) start.child.kill("SIGKILL");
    }
    if (clone) rmSync(clone, { recursive: true, force: true });
  }, 30_000);

  it("reaches Ready in under 40 lines, never asking and without wrangler's tables", () => {
    expect(beforeReady.length, beforeReady.join("\n")).toBeLessThan(40);
    const text = beforeReady.join("\n");
    expect(text).not.toMatch(/continue\?|\(Y\/n\)|fallback value/);
    expect(text).not.toMatch(/[┌├└]|Migrations to be applied|Your Worker has access to the following bindings/);
    expect(text).toContain(`Created ${join(clone, ".dev.vars")} with fresh random local secrets`);
    expect(plain(start.output)).toContain(`Ready on http://127.0.0.1:${port}`);
  });

  it("shows one line per migration applied, in order", () => {
    const shown = beforeReady.filter((line) => line.includes("migration"));
    expect(shown).toEqual(migrations.map((name) => `Applied migration ${name}`));
  });

  it("still shows each request and the Worker's own log line for it", async () => {
    const response = await fetch(`http://127.0.0.1:${port}/relay/health`);
    expect(response.status).toBe(200);
    const logged = () => /"msg":"request".*"route":"\/relay\/health"/.test(plain(start.output));
    const shown = () => /GET \/relay\/health 200/.test(plain(start.output));
    expect(await waitFor(() => logged() && shown(), 20_000), plain(start.output)).toBe(true);
  });

  it("applies nothing and prints nothing the second time", async () => {
    const printed = vi.spyOn(console, "log");
    const state = join(clone, ".wrangler/state");
    expect(await applyMigrations(["--persist-to", state])).toEqual({ code: 0, applied: [] });
    expect(printed).not.toHaveBeenCalled();
    printed.mockRestore();
  });
});
