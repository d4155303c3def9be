import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoReply } from "../../scripts/demo-upstream.mjs";
import { OFFLINE_ENV } from "../../scripts/start.mjs";

const root = resolve(import.meta.dirname, "../..");
const deployScript = resolve(root, "scripts/deploy.mjs");
const LOOPBACK_BASE_URL = /https?:\/\/(?:127\.\d+\.\d+\.\d+|localhost|\[::1\])(?::\d+)?\/v1/;

// `npm run deploy -- --dry-run --outdir DIR` as docs/deploy.md shows it, without a Cloudflare login and
// offline: a home of its own with no wrangler login, no API token in the environment, and a proxy that
// refuses every connection. It builds; what it would upload must not know the demo upstream (npm start's).
describe("npm run deploy -- --dry-run: offline, without a login, and never with the offline demo upstream", () => {
  let home: string;
  let outdir: string;
  let output: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "relay-deploy-home-"));
    outdir = join(home, "dist");
    const { CLOUDFLARE_API_TOKEN: _token, CLOUDFLARE_ACCOUNT_ID: _account, ...inherited } = process.env;
    const dead = "http://127.0.0.1:9";
    const env = {
      ...inherited,
      ...OFFLINE_ENV,
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      ...{ HTTPS_PROXY: dead, HTTP_PROXY: dead, https_proxy: dead, http_proxy: dead, NO_PROXY: "", no_proxy: "" },
      // As `npm run` does: the project's wrangler first on the PATH.
      PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}`,
    };
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [deployScript, "--dry-run", "--outdir", outdir],
      { cwd: root, env, maxBuffer: 16 * 1024 * 1024 },
    );
    output = stdout + stderr;
  });

  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("builds the Worker and stops before any upload", () => {
    expect(output).toContain("--dry-run: exiting now.");
    expect(output).not.toMatch(/not logged in|wrangler login|Uploaded|Deployed/i);
  });

  it("bundles neither the demo's answer nor a loopback OPENAI_BASE_URL", () => {
    const files = readdirSync(outdir).filter((file) => file.endsWith(".js") || file.endsWith(".map"));
    expect(files).toContain("index.js");
    for (const file of files) {
      const text = readFileSync(join(outdir, file), "utf8");
      expect(text).not.toContain("offline demo upstream");
      expect(text).not.toContain(demoReply(1).slice(0, 60));
      expect(text).not.toMatch(LOOPBACK_BASE_URL);
    }
  });

  it("deploys OPENAI_BASE_URL https://api.openai.com/v1, the value in wrangler.jsonc", () => {
    expect(output).toMatch(/env\.OPENAI_BASE_URL \("https:\/\/api\.openai\.com\/v1"\)/);
    expect(output).not.toMatch(LOOPBACK_BASE_URL);
  });

  it("`npm run deploy` runs wrangler only, never start.mjs or the demo", () => {
    const { scripts } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(scripts.deploy).toBe("node scripts/deploy.mjs");
    expect(scripts.predeploy).toBeUndefined();
    expect(scripts.postdeploy).toBeUndefined();
    const deploy = readFileSync(join(root, "scripts/deploy.mjs"), "utf8");
    expect(deploy).not.toMatch(/demo|start\.mjs|dev-vars/);
  });
});
