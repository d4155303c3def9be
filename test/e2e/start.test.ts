import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { demoVarArgs, persistArgs } from "../../scripts/start.mjs";

const startScript = resolve(import.meta.dirname, "../../scripts/start.mjs");
const dir = mkdtempSync(join(tmpdir(), "relay-start-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `node FILE` inside a pseudo-terminal (util-linux `script`) that nobody types into; its output and exit code. */
function runInTerminal(file: string, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;
  const child = spawn("script", ["-qefc", `${quote(process.execPath)} ${quote(file)}`, "/dev/null"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((done) =>
    child.once("exit", (code) => {
      clearTimeout(timer);
      done({ code, output });
    }),
  );
}

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

  it("applies the D1 migrations in a terminal without asking", async () => {
    const state = join(dir, "state");
    const driver = join(dir, "migrate.mjs");
    const lines = [
      `const { applyMigrations } = await import(${JSON.stringify(pathToFileURL(startScript).href)});`,
      'console.log("terminal: " + Boolean(process.stdin.isTTY && process.stdout.isTTY));',
      `process.exit(await applyMigrations(["--persist-to", ${JSON.stringify(state)}]));`,
    ];
    writeFileSync(driver, `${lines.join("\n")}\n`);
    const { code, output } = await runInTerminal(driver, 40_000);
    expect(output).toContain("terminal: true");
    expect(output).not.toMatch(/\(Y\/n\)/);
    expect(output).toMatch(/0003_entitlements_per_source\.sql/);
    expect(code).toBe(0);
  });
});
