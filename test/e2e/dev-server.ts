import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const wranglerBin = resolve(root, "node_modules/wrangler/bin/wrangler.js");
const quietEnv = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => done(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** A running `wrangler dev`: its URL, the pid of the wrangler process, its secrets file, and how to stop it. */
export type DevServer = { url: string; pid: number; envFile: string; stop(): Promise<void> };

/** How to start `wrangler dev` beyond its secrets. */
export type DevServerOptions = {
  /** Apply the D1 migrations to the new state folder first. */
  migrate?: boolean;
  /** A secrets file to use as it is (such as a generated .dev.vars) instead of one written from `secrets`. */
  envFile?: string;
  /** More `wrangler dev` flags, such as `--var NAME:VALUE`. */
  args?: string[];
};

/**
 * Starts the relay with `wrangler dev` on 127.0.0.1, with its own secrets file and state folder (so the
 * developer's .dev.vars and .wrangler/state are untouched), and waits until /relay/health answers.
 */
export async function startDevServer(
  secrets: Record<string, string>,
  { migrate = false, envFile: givenEnvFile, args = [] }: DevServerOptions = {},
): Promise<DevServer> {
  const dir = mkdtempSync(join(tmpdir(), "relay-e2e-"));
  const envFile = givenEnvFile ?? join(dir, ".env");
  const state = join(dir, "state");
  if (!givenEnvFile) {
    writeFileSync(
      envFile,
      Object.entries(secrets)
        .map(([key, value]) => `${key}=${value}\n`)
        .join(""),
    );
  }
  if (migrate) {
    const migrateArgs = [wranglerBin, "d1", "migrations", "apply", "DB", "--local", "--persist-to", state];
    execFileSync(process.execPath, migrateArgs, { cwd: root, env: quietEnv, stdio: "ignore" });
  }
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(
    process.execPath,
    [
      wranglerBin,
      "dev",
      ...["--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort)],
      ...["--env-file", envFile, "--persist-to", state],
      ...["--show-interactive-dev-session=false", "--log-level", "warn"],
      ...args,
    ],
    { cwd: root, env: quietEnv, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));

  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      // unref: a pending timer would keep the process (the global setup's: Vitest itself) alive for 5 s.
      await Promise.race([exited, new Promise((done) => setTimeout(done, 5000).unref())]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Seconds on a quiet machine; a machine busy with other work may take a minute or more.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`${url}/relay/health`)).ok) return { url, pid: child.pid ?? 0, envFile, stop };
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not become ready:\n${output}`);
}
