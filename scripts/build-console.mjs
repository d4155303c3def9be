#!/usr/bin/env node
// `node scripts/build-console.mjs`: builds the operator console (console/) into console/dist, the Worker's
// static assets: console/main.ts with uPlot from node_modules bundled into app.js, the stylesheets into
// app.css, and index.html copied. Wrangler runs it before `wrangler dev` and `wrangler deploy` (the `build`
// of wrangler.jsonc); vitest.config.mts runs it before the tests. Files whose bytes did not change are not
// rewritten, so a build that runs while a relay serves them never shows a half-written file; anything else
// in console/dist is removed, since the whole folder is uploaded.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = resolve(import.meta.dirname, "..");
const source = join(root, "console");
/** Where the built console goes: `assets.directory` in wrangler.jsonc. */
export const CONSOLE_DIST = join(source, "dist");

/** Writes `bytes` to `path` unless the file already holds exactly them; true when it wrote. */
function writeIfChanged(path, bytes) {
  try {
    if (Buffer.compare(readFileSync(path), Buffer.from(bytes)) === 0) return false;
  } catch {
    // not there yet
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return true;
}

/** uPlot's copyright and license notice (MIT), which its minified copy in app.js must keep. */
function uplotNotice() {
  const source = readFileSync(join(root, "node_modules/uplot/dist/uPlot.esm.js"), "utf8");
  const header = /^\/\*\*([\s\S]*?)\*\//.exec(source)?.[1] ?? "";
  return `/*!${header}*/`;
}

/** Builds the console; resolves to the files it wrote (relative to console/dist). */
export async function buildConsole() {
  const result = await build({
    banner: { js: uplotNotice() },
    absWorkingDir: root,
    entryPoints: { app: join(source, "main.ts") },
    outdir: CONSOLE_DIST,
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    legalComments: "inline",
    write: false,
    logLevel: "warning",
  });
  const outputs = [
    ...result.outputFiles.map((file) => ({ path: file.path, bytes: file.contents })),
    { path: join(CONSOLE_DIST, "index.html"), bytes: readFileSync(join(source, "index.html")) },
  ];
  const written = outputs.filter((file) => writeIfChanged(file.path, file.bytes));
  // Anything else in the folder would be uploaded with the assets: only what this build made stays.
  const made = new Set(outputs.map((file) => relative(CONSOLE_DIST, file.path)));
  for (const entry of readdirSync(CONSOLE_DIST)) {
    if (!made.has(entry)) rmSync(join(CONSOLE_DIST, entry), { recursive: true, force: true });
  }
  return written.map((file) => relative(CONSOLE_DIST, file.path));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await buildConsole();
}
