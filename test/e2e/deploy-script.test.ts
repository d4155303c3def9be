import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const script = resolve(import.meta.dirname, "../../scripts/deploy.mjs");

/**
 * Runs scripts/deploy.mjs with a fake `wrangler` first on the PATH: it records each call (and whether CI was
 * set, which is what keeps wrangler from asking) and answers like a remote without the database, or like
 * wrangler without a Cloudflare login, when told to.
 */
function deployWith({ firstDeploy = false, loggedIn = true, flags = ["--keep-vars"] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "relay-deploy-script-"));
  const calls = join(dir, "calls.log");
  const fake = join(dir, "wrangler");
  writeFileSync(
    fake,
    `#!/bin/sh
echo "$* CI=$CI" >> "${calls}"
if [ "$1" = d1 ] && [ -n "${firstDeploy ? "first" : ""}" ] && ! grep -q "^deploy" "${calls}"; then
  echo "✘ [ERROR] Couldn't find a D1 DB with the name or binding 'DB' in your wrangler.toml file." >&2
  exit 1
fi
if [ "$1" = d1 ] && [ -n "${loggedIn ? "" : "logged out"}" ]; then
  echo "✘ [ERROR] You are not logged in." >&2
  exit 1
fi
echo "ok: $*"
`,
  );
  chmodSync(fake, 0o755);
  const result = spawnSync(process.execPath, [script, ...flags], {
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, CI: "" },
    encoding: "utf8",
  });
  const log = readFileSync(calls, "utf8").trim().split("\n");
  return { status: result.status, log, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe("scripts/deploy.mjs (npm run deploy)", () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  it("applies the migrations first, then deploys with the flags given, never asking (CI=true)", () => {
    const run = deployWith();
    cleanup = run.cleanup;
    expect(run.status).toBe(0);
    expect(run.log).toEqual(["d1 migrations apply DB --remote CI=true", "deploy --keep-vars CI=true"]);
  });

  it("with --dry-run only builds: no migration reaches the remote database, so no login is needed", () => {
    const run = deployWith({ loggedIn: false, flags: ["--dry-run", "--outdir", "dist"] });
    cleanup = run.cleanup;
    expect(run.status).toBe(0);
    expect(run.log).toEqual(["deploy --dry-run --outdir dist CI=true"]);
  });

  it("without a login, a real deploy stops at the migrations and deploys nothing", () => {
    const run = deployWith({ loggedIn: false });
    cleanup = run.cleanup;
    expect(run.status).toBe(1);
    expect(run.log).toEqual(["d1 migrations apply DB --remote CI=true"]);
  });

  it("on the first deploy, when the database does not exist yet, deploys (which creates it) and then migrates", () => {
    const run = deployWith({ firstDeploy: true });
    cleanup = run.cleanup;
    expect(run.status).toBe(0);
    expect(run.log).toEqual([
      "d1 migrations apply DB --remote CI=true",
      "deploy --keep-vars CI=true",
      "d1 migrations apply DB --remote CI=true",
    ]);
  });
});
