import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { adminToken, parseCommand, uploadUrl } from "../../scripts/library-put.mjs";

const relay = inject("e2eRelay");
const { ADMIN_TOKEN } = relay.secrets;
const script = resolve(import.meta.dirname, "../../scripts/library-put.mjs");

describe("scripts/library-put.mjs: the command line", () => {
  it("reads FILE, PATH and the options, with the defaults", () => {
    expect(parseCommand(["/tmp/My Book.pdf", "/books/My Book.pdf", "--sku", "EBOOK"])).toEqual({
      file: "/tmp/My Book.pdf",
      path: "books/My Book.pdf",
      sku: "EBOOK",
      tier: undefined,
      title: "My Book.pdf",
      contentType: "application/pdf",
      url: "http://localhost:8787",
    });
    expect(
      parseCommand([
        "a.bin",
        "x/a.bin",
        "--tier",
        "yearly",
        "--title",
        "Tõnis",
        "--type",
        "video/mp4",
        "--url",
        "https://r.example/",
      ]),
    ).toMatchObject({ tier: "yearly", title: "Tõnis", contentType: "video/mp4", url: "https://r.example" });
  });

  it("refuses a missing PATH and anything but exactly one of --sku and --tier", () => {
    expect(() => parseCommand(["a.pdf"])).toThrow(/^usage: npm run library:put/);
    expect(() => parseCommand(["a.pdf", "a.pdf"])).toThrow("give exactly one of --sku and --tier");
    expect(() => parseCommand(["a.pdf", "a.pdf", "--sku", "A", "--tier", "monthly"])).toThrow(
      "give exactly one of --sku and --tier",
    );
  });

  it("percent-encodes each path segment", () => {
    const command = parseCommand(["f", "books/Crème brûlée #1.pdf", "--sku", "A"]);
    expect(uploadUrl(command)).toBe(
      "http://localhost:8787/admin/library/books/Cr%C3%A8me%20br%C3%BBl%C3%A9e%20%231.pdf",
    );
  });

  it("takes ADMIN_TOKEN from the environment, else from .dev.vars", () => {
    const dir = mkdtempSync(join(tmpdir(), "library-put-"));
    try {
      const devVars = join(dir, ".dev.vars");
      writeFileSync(devVars, "RELAY_SECRET=x\nADMIN_TOKEN=from-dev-vars\n");
      expect(adminToken({ ADMIN_TOKEN: "from-env" }, devVars)).toBe("from-env");
      expect(adminToken({}, devVars)).toBe("from-dev-vars");
      expect(() => adminToken({}, join(dir, "missing"))).toThrow(/ADMIN_TOKEN is not set/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("npm run library:put against wrangler dev", () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "library-put-"));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (args: string[], token = ADMIN_TOKEN) =>
    spawnSync(process.execPath, [script, ...args, "--url", relay.url], {
      encoding: "utf8",
      env: { ...process.env, ADMIN_TOKEN: token },
    });

  it("streams a file into the library; the relay's ETag is the file's MD5", () => {
    const file = join(dir, "Chapter 1.pdf");
    const content = Buffer.alloc(3 * 1024 * 1024, "soul mirror ");
    writeFileSync(file, content);
    const result = run([file, "books/Chapter 1.pdf", "--sku", "EBOOK", "--title", "Chapter 1 — Mirrors"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      success: true,
      item: {
        key: "books/Chapter 1.pdf",
        title: "Chapter 1 — Mirrors",
        size: content.length,
        content_type: "application/pdf",
        uploaded_at: expect.any(String),
        sku: "EBOOK",
        tier: null,
      },
      etag: `"${createHash("md5").update(content).digest("hex")}"`,
    });
  });

  it("exits 1 with the relay's error when the token is wrong", () => {
    const file = join(dir, "x.txt");
    writeFileSync(file, "x");
    const result = run([file, "x.txt", "--tier", "monthly"], "wrong-token");
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      success: false,
      error: { code: "unauthorized", message: "Missing or invalid credentials" },
    });
  });
});
