import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "./dev-server.ts";

const root = resolve(import.meta.dirname, "../..");

/** Relays in isolates of their own that share one set of Durable Objects, as on Cloudflare's network. */
export type RelayIsolates = { urls: string[]; stop(): Promise<void> };

/** The admin token of relays started here (test/e2e files create their relay keys with it). */
export const ISOLATES_ADMIN_TOKEN = "isolates-admin-token";

/** Headers of a JSON request with a bearer credential, from one client IP. */
export function jsonHeaders(credential: string, ip = "203.0.113.9"): Record<string, string> {
  return { "Content-Type": "application/json", Authorization: `Bearer ${credential}`, "CF-Connecting-IP": ip };
}

/** Creates a relay key through the admin API of `url`; its id and secret. */
export async function createKey(url: string, body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const created = await fetch(`${url}/admin/keys`, {
    method: "POST",
    headers: jsonHeaders(ISOLATES_ADMIN_TOKEN),
    body: JSON.stringify(body),
  });
  if (created.status !== 201) throw new Error(`POST /admin/keys answered ${created.status}: ${await created.text()}`);
  const { key, secret } = (await created.json()) as { key: { id: string }; secret: string };
  return { id: key.id, secret };
}

/** Applies the relay's D1 migrations, in order, through the D1 shim (bench/d1-shim.js) at `databaseUrl`. */
export async function migrateShim(databaseUrl: string): Promise<void> {
  for (const file of readdirSync(resolve(root, "migrations")).sort()) {
    const sql = readFileSync(resolve(root, "migrations", file), "utf8");
    const answer = await fetch(`${databaseUrl}/execute`, { method: "POST", body: JSON.stringify({ sql }) });
    const result = (await answer.json()) as { success: boolean; error?: string };
    if (!result.success) throw new Error(`migration ${file}: ${result.error}`);
  }
}

/**
 * Serves the relay's bundle, exactly as `wrangler deploy` would upload it, as `copies` Workers of raw workerd:
 * each its own isolate (its own leases in memory), all sharing the first one's Meter and RateLimiter Durable
 * Objects and one D1 (bench/d1-shim.js), as isolates on several Cloudflare machines share a subject's Meter.
 * Queues, KV and R2 are not bound: the chat path and the admin key routes do not need them. `vars` come on top of
 * ISOLATES_ADMIN_TOKEN, a RELAY_SECRET and an OPENAI_API_KEY, and usage reaching D1 a fifth of a second after it
 * reaches a Meter.
 */
export async function startRelayIsolates(copies: number, extraVars: Record<string, string>): Promise<RelayIsolates> {
  const vars = {
    ADMIN_TOKEN: ISOLATES_ADMIN_TOKEN,
    RELAY_SECRET: "isolates-relay-secret",
    OPENAI_API_KEY: "sk-isolates",
    USAGE_FLUSH_SECONDS: "0.2",
    ...extraVars,
  };
  const dir = mkdtempSync(join(tmpdir(), "relay-isolates-"));
  execFileSync(
    process.execPath,
    [resolve(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", join(dir, "relay")],
    { cwd: root, stdio: "ignore", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } },
  );
  for (const file of ["d1-shim.js", "flood-guard.js"]) copyFileSync(resolve(root, "bench", file), join(dir, file));
  mkdirSync(join(dir, "storage"));
  const ports = await Promise.all(Array.from({ length: copies + 1 }, () => freePort()));
  const databasePort = ports[copies] as number;
  const compatibilityDate = /"compatibility_date":\s*"([^"]+)"/.exec(
    readFileSync(resolve(root, "wrangler.jsonc"), "utf8"),
  )?.[1];
  const text = (name: string, value: string) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(value)})`;
  const relay = (index: number) => {
    const host = index === 0 ? "" : `, serviceName = "relay0"`;
    return `const relay${index} :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed "relay/index.js")],
  compatibilityDate = "${compatibilityDate}",
  bindings = [
    ${Object.entries(vars)
      .map(([name, value]) => text(name, value))
      .join(",\n    ")},
    (name = "METER", durableObjectNamespace = (className = "Meter"${host})),
    (name = "RATE_LIMITER", durableObjectNamespace = (className = "RateLimiter"${host})),
    (name = "DB", wrapped = (moduleName = "cloudflare-internal:d1-api", innerBindings = [(name = "fetcher", service = "database")])),
    (name = "FLOOD_GUARD", wrapped = (moduleName = "test:flood-guard", innerBindings = [(name = "limit", json = "1000000"), (name = "period", json = "60")])),
  ],
  ${
    index === 0
      ? `durableObjectNamespaces = [
    (className = "RateLimiter", uniqueKey = "isolates-rate-limiter", enableSql = true),
    (className = "Meter", uniqueKey = "isolates-meter", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "storage"),`
      : ""
  }
  globalOutbound = "loopback",
);`;
  };
  const indexes = Array.from({ length: copies }, (_, index) => index);
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    ${indexes.map((index) => `(name = "relay${index}", worker = .relay${index}),`).join("\n    ")}
    (name = "database", worker = .database),
    (name = "loopback", network = (allow = ["local"])),
    (name = "storage", disk = (path = ${JSON.stringify(join(dir, "storage"))}, writable = true)),
  ],
  sockets = [
    ${indexes.map((index) => `(name = "relay${index}", address = "127.0.0.1:${ports[index]}", http = (), service = "relay${index}"),`).join("\n    ")}
    (name = "database", address = "127.0.0.1:${databasePort}", http = (), service = "database"),
  ],
  extensions = [(modules = [(name = "test:flood-guard", esModule = embed "flood-guard.js", internal = true)])],
);

${indexes.map(relay).join("\n\n")}

const database :Workerd.Worker = (
  modules = [(name = "d1-shim.js", esModule = embed "d1-shim.js")],
  compatibilityDate = "${compatibilityDate}",
  bindings = [(name = "DATABASE", durableObjectNamespace = (className = "Database"))],
  durableObjectNamespaces = [(className = "Database", uniqueKey = "isolates-database", enableSql = true)],
  durableObjectStorage = (localDisk = "storage"),
);
`,
  );
  let output = "";
  const workerd: ChildProcess = spawn(
    resolve(root, "node_modules/workerd/bin/workerd"),
    ["serve", "--experimental", join(dir, "config.capnp")],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  workerd.stdout?.on("data", (chunk) => (output += chunk));
  workerd.stderr?.on("data", (chunk) => (output += chunk));
  const stop = async () => {
    if (workerd.exitCode === null) {
      const exited = new Promise((done) => workerd.once("exit", done));
      workerd.kill("SIGTERM");
      await Promise.race([exited, new Promise((done) => setTimeout(done, 5000).unref())]);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const urls = indexes.map((index) => `http://127.0.0.1:${ports[index]}`);
  try {
    for (const url of urls) await waitForHealth(url, () => workerd.exitCode !== null);
    await migrateShim(`http://127.0.0.1:${databasePort}`);
  } catch (error) {
    await stop();
    throw new Error(`workerd did not start: ${String(error)}\n${output}`);
  }
  return { urls, stop };
}

async function waitForHealth(url: string, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !exited()) {
    try {
      if ((await fetch(`${url}/relay/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`${url} did not answer /relay/health`);
}
