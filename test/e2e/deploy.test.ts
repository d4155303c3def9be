import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoReply } from "../../scripts/demo-upstream.mjs";
import { OFFLINE_ENV } from "../../scripts/start.mjs";

const root = resolve(import.meta.dirname, "../..");
const wranglerBin = resolve(root, "node_modules/wrangler/bin/wrangler.js");
const LOOPBACK_BASE_URL = /https?:\/\/(?:127\.\d+\.\d+\.\d+|localhost|\[::1\])(?::\d+)?\/v1/;

// The demo upstream is for `npm start` only: what `npm run deploy` uploads must not know it.
describe("a deployment never uses the offline demo upstream", () => {
  let outdir: string;
  let output: string;

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), "relay-deploy-"));
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [wranglerBin, "deploy", "--dry-run", "--outdir", outdir],
      { cwd: root, env: { ...process.env, ...OFFLINE_ENV }, maxBuffer: 16 * 1024 * 1024 },
    );
    output = stdout + stderr;
  });

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
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
