import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, describe, expect, inject, it } from "vitest";
import { parseTokenCommand, runToken, signUserToken } from "../../scripts/token.mjs";

const relay = inject("e2eRelay");
const SECRET = "local-user-jwt-secret-0123456789abcdef";
const script = resolve(import.meta.dirname, "../../scripts/token.mjs");
const dir = mkdtempSync(join(tmpdir(), "token-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs scripts/token.mjs as `npm run -s token` does, with a .dev.vars of our own. */
function runScript(args: string[], devVars: string) {
  const driver = join(dir, "run-token.mjs");
  writeFileSync(
    driver,
    `const { runToken } = await import(${JSON.stringify(pathToFileURL(script).href)});\n` +
      "process.exitCode = await runToken(process.argv.slice(3), process.argv[2]);\n",
  );
  return spawnSync(process.execPath, [driver, devVars, ...args], { encoding: "utf8" });
}

describe("npm run token: the command line", () => {
  it("takes a user id and an optional --ttl (default an hour)", () => {
    expect(parseTokenCommand(["user123"])).toEqual({ userId: "user123", ttlSeconds: 3600 });
    expect(parseTokenCommand(["user123", "--ttl", "60"])).toEqual({ userId: "user123", ttlSeconds: 60 });
    expect(parseTokenCommand(["--ttl=120", "u"])).toEqual({ userId: "u", ttlSeconds: 120 });
  });

  it("refuses anything else with the usage", () => {
    for (const argv of [
      [],
      ["a", "b"],
      [""],
      ["u", "--ttl", "0"],
      ["u", "--ttl", "1.5"],
      ["u", "--ttl", "-5"],
      ["u", "--x"],
    ]) {
      expect(() => parseTokenCommand(argv), JSON.stringify(argv)).toThrow(/usage: npm run -s token -- USER_ID/);
    }
  });
});

describe("npm run token: the token", () => {
  it("is an HS256 JWT with sub, iat and exp = now + ttl, signed with USER_JWT_SECRET", async () => {
    const now = new Date();
    const token = await signUserToken({ userId: "user123", ttlSeconds: 600 }, { USER_JWT_SECRET: SECRET }, now);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
    const { payload } = await jwtVerify(token, new TextEncoder().encode(SECRET), { algorithms: ["HS256"] });
    const iat = Math.floor(now.getTime() / 1000);
    expect(payload).toEqual({ sub: "user123", iat, exp: iat + 600 });
    await expect(jwtVerify(token, new TextEncoder().encode("another-secret"))).rejects.toThrow();
  });

  it("carries iss and aud when .dev.vars sets USER_JWT_ISSUER and USER_JWT_AUDIENCE", async () => {
    const vars = { USER_JWT_SECRET: SECRET, USER_JWT_ISSUER: "https://id.example", USER_JWT_AUDIENCE: "relay" };
    const token = await signUserToken({ userId: "u", ttlSeconds: 60 }, vars);
    const { payload } = await jwtVerify(token, new TextEncoder().encode(SECRET), {
      issuer: "https://id.example",
      audience: "relay",
    });
    expect(payload.sub).toBe("u");
  });

  it("prints only the token on stdout, from the .dev.vars secret", async () => {
    const devVars = join(dir, ".dev.vars");
    writeFileSync(devVars, `# local\nRELAY_SECRET=x\nUSER_JWT_SECRET=${SECRET}\n`);
    const result = runScript(["user123", "--ttl", "30"], devVars);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const { payload } = await jwtVerify(result.stdout.trim(), new TextEncoder().encode(SECRET));
    expect(payload.sub).toBe("user123");
  });

  it("exits 2 with the usage on stderr for a wrong command line", () => {
    const result = spawnSync(process.execPath, [script, "--ttl", "60"], { encoding: "utf8" });
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^usage: npm run -s token/);
    expect(result.status).toBe(2);
  });

  it("says how to create .dev.vars when it is missing", () => {
    const result = runScript(["user123"], join(dir, "missing"));
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/missing does not exist: run `npm start` once to create it/);
    expect(result.status).toBe(1);
  });

  it("says which secret is missing", async () => {
    const devVars = join(dir, "no-secret.dev.vars");
    writeFileSync(devVars, "RELAY_SECRET=x\nUSER_JWT_SECRET=\n");
    expect(runScript(["u"], devVars).stderr).toBe("USER_JWT_SECRET is not set in .dev.vars\n");
    expect(await runToken(["u"], devVars)).toBe(1);
  });
});

describe("npm run token against the relay under wrangler dev", () => {
  it("is accepted as the user's credential by GET /entitlements/check", async () => {
    const token = await signUserToken({ userId: "token-e2e-user", ttlSeconds: 60 }, relay.secrets);
    const response = await fetch(`${relay.url}/entitlements/check`, { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ success: true, user_id: "token-e2e-user", has_access: false });
  });
});
