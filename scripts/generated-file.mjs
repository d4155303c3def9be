// Writes a file the build generates from other sources, or with `--check` on the command line (what `npm test`
// runs) exits 1 when the file is not what they give now, naming the command that brings it up to date.
import { readFileSync, writeFileSync } from "node:fs";

/** Writes `text` to `path`, or checks that `path` already holds exactly it (`--check`). */
export function writeOrCheck(path, text, source) {
  if (!process.argv.includes("--check")) {
    writeFileSync(path, text);
    console.log(`Wrote ${path} from ${source}`);
    return;
  }
  let current = "";
  try {
    current = readFileSync(path, "utf8");
  } catch {
    // missing: not current
  }
  if (current !== text) {
    console.error(`${path} is not what ${source} gives: run \`npm run generate\``);
    process.exit(1);
  }
}
