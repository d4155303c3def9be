import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildConsole, CONSOLE_DIST } from "../../scripts/build-console.mjs";

describe("scripts/build-console.mjs: the console's static assets", () => {
  it("builds the page, its script and its stylesheet, and nothing else stays in the folder", async () => {
    const stray = join(CONSOLE_DIST, "left-over.txt");
    writeFileSync(stray, "from an older build");
    await buildConsole();
    expect(existsSync(stray)).toBe(false);
    expect(readdirSync(CONSOLE_DIST).sort()).toEqual(["app.css", "app.js", "index.html"]);
    expect(readFileSync(join(CONSOLE_DIST, "index.html"), "utf8")).toContain('src="/admin/console/app.js"');
    // uPlot is MIT licensed: its notice stays at the top of the minified bundle.
    expect(readFileSync(join(CONSOLE_DIST, "app.js"), "utf8")).toMatch(
      /^\/\*!\n\* Copyright \(c\) \d{4}, Leon Sorokin/,
    );
    expect(readFileSync(join(CONSOLE_DIST, "app.css"), "utf8")).toContain(".u-legend");
  });

  it("rewrites nothing when nothing changed, so a relay serving the files never sees one half-written", async () => {
    await buildConsole();
    expect(await buildConsole()).toEqual([]);
  });
});
