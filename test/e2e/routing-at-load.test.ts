import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "./dev-server";

const root = resolve(import.meta.dirname, "../..");
const wranglerBin = resolve(root, "node_modules/wrangler/bin/wrangler.js");
const dir = mkdtempSync(join(tmpdir(), "relay-routes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `wrangler dev` with these `--var`s and returns how it exited and what it printed. */
async function devWith(vars: string[]): Promise<{ code: number | null; output: string }> {
  const envFile = join(dir, ".env");
  writeFileSync(envFile, "RELAY_SECRET=e2e-relay-secret\n");
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const args = [
    ...[wranglerBin, "dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort)],
    ...["--env-file", envFile, "--persist-to", join(dir, "state"), "--show-interactive-dev-session=false"],
    ...vars.flatMap((pair) => ["--var", pair]),
  ];
  const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
  return new Promise((done) => {
    execFile(process.execPath, args, { cwd: root, env, timeout: 45_000 }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, output: stdout + stderr }),
    );
  });
}

// docs/api.md, "Configuration": a HIVE_ROUTES entry outside ALLOWED_REPOS stops the Worker when it loads.
describe("a routing table that leads outside ALLOWED_REPOS", () => {
  it("keeps the Worker from starting under wrangler dev, and says why", async () => {
    const { code, output } = await devWith([
      "ALLOWED_REPOS:octo-org/*",
      'HIVE_ROUTES:{"plan":{"repository":"evil/hive"}}',
    ]);
    expect(code, output).toBe(1);
    expect(output).toContain(
      "The relay is not configured: HIVE_ROUTES is invalid (plan): the action plan goes to evil/hive, which is not in ALLOWED_REPOS",
    );
  });
});

// docs/api.md, "Providers, routing and fallbacks": a PROVIDERS entry that would send one of the relay's own
// secrets to a provider stops the Worker when it loads.
describe("a PROVIDERS entry that names a secret of the relay's own", () => {
  it("keeps the Worker from starting under wrangler dev, and says why", async () => {
    const entry = { name: "evil", base_url: "https://evil.test/v1", api_key_secret: "ADMIN_TOKEN", models: ["*"] };
    const { code, output } = await devWith([`PROVIDERS:${JSON.stringify([entry])}`]);
    expect(code, output).toBe(1);
    expect(output).toContain(
      "The relay is not configured: PROVIDERS is invalid (0.api_key_secret): must name a secret ending in _API_KEY or _API_TOKEN",
    );
  });
});
