import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const read = (path: string) => readFileSync(resolve(root, path), "utf8");
/** Every file git tracks or would track (untracked but not ignored): what a clone holds. */
const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: root })
  .toString()
  .split("\n")
  .filter((file) => file !== "" && existsSync(resolve(root, file)));
const DOCS = files.filter((file) => file.endsWith(".md"));

/**
 * Folders a test run writes into and git ignores: the console test's screenshots
 * (test/e2e/console-browser.test.ts). The docs may name a file there that a fresh clone has not made yet.
 */
const GENERATED = ["test/e2e/screenshots/"];
const gitIgnores = (path: string) => spawnSync("git", ["check-ignore", "-q", path], { cwd: root }).status === 0;
/** A path inside a generated folder, which git ignores: not a file of the repository. */
const isGenerated = (path: string) => GENERATED.some((folder) => path.startsWith(folder)) && gitIgnores(path);

/** `file › describe › it` citations of tests, as SECURITY.md and the docs write them. */
function citations(text: string): Array<{ file: string; names: string[] }> {
  return [...text.matchAll(/`((?:src|test)\/[\w./-]+\.test\.ts)((?: › [^`]+)+)`/g)].map((match) => ({
    file: match[1] as string,
    names: (match[2] as string).split(" › ").slice(1),
  }));
}

describe("the documentation", () => {
  it.each(DOCS)("%s cites only tests that exist, by the names written in their files", (doc) => {
    const stale = citations(read(doc)).flatMap(({ file, names }) => {
      if (!existsSync(resolve(root, file))) return [`${file} (no such file)`];
      const source = read(file);
      return names.filter((name) => !source.includes(name)).map((name) => `${file} › ${name}`);
    });
    expect(stale).toEqual([]);
  });

  it.each(DOCS)("%s names only files of the repository that exist", (doc) => {
    const paths = [...read(doc).matchAll(/`((?:src|test|migrations|scripts|bench|docs|examples)\/[\w./-]+\.\w+)`/g)];
    const missing = paths
      .map((match) => match[1] as string)
      .filter((path) => !existsSync(resolve(root, path)) && !isGenerated(path));
    expect(missing).toEqual([]);
  });

  it.each(GENERATED)("%s, where the docs may name files a fresh clone does not have yet, is git-ignored", (folder) => {
    expect(gitIgnores(folder)).toBe(true);
  });

  it("has no link or path that leads outside the repository", () => {
    const outside = files
      .filter((file) => !file.startsWith("package-lock") && !file.endsWith(".d.ts") && !file.startsWith("test/docs/"))
      .filter((file) => /\.\.\/shared\/|\bDESIGN\.md\b|\/work\//.test(read(file)));
    expect(outside).toEqual([]);
  });

  it("README names the packages `npm install` warns EBADENGINE about on Node 20, as package-lock.json has them", () => {
    type Lock = { packages: Record<string, { optional?: boolean; engines?: { node?: string } }> };
    // A range all of whose major versions lie above 20 (">=22.0.0", "^22.12.0 || >=24") refuses Node 20; npm
    // skips an optional package it cannot use instead of warning.
    const majors = (range: string) => [...range.matchAll(/(?<![.\d])\d+/g)].map((major) => Number(major[0]));
    const refusesNode20 = (range = "") => majors(range).length > 0 && majors(range).every((major) => major > 20);
    const lock = JSON.parse(read("package-lock.json")) as Lock;
    const warned = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== "" && !entry.optional && refusesNode20(entry.engines?.node))
      .map(([path]) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length))
      .sort();
    const listed = /warns `EBADENGINE` for the packages that need Node 22 \(([^)]*)\)/.exec(read("README.md"))?.[1];
    expect(warned.length).toBeGreaterThan(0);
    expect([...(listed ?? "").matchAll(/`([^`]+)`/g)].map((match) => match[1]).sort()).toEqual(warned);
  });

  it("keeps Markdown tables unpadded, so that a one-cell edit is a one-line diff", () => {
    const padded = DOCS.filter((doc) => /\| -{4,}|\S {3,}\|/.test(read(doc)));
    expect(padded).toEqual([]);
  });
});
