#!/usr/bin/env node
// `npm run generate` (with build-prices.mjs): writes src/features/connector/openapi.json, the Kora connector's
// OpenAPI 3.1 document, from the zod schemas its routes validate with (src/features/connector/openapi-document.ts).
// Generating it here keeps zod-to-openapi out of the Worker. `--check` (part of `npm test`) fails when the
// committed document is not what the schemas give, so a schema change cannot leave the contract behind.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { writeOrCheck } from "./generated-file.mjs";

const root = resolve(import.meta.dirname, "..");
const OPENAPI_JSON = resolve(root, "src/features/connector/openapi.json");

const dir = mkdtempSync(join(tmpdir(), "relay-openapi-"));
let text;
try {
  const outfile = join(dir, "openapi-document.mjs");
  await build({
    entryPoints: [resolve(root, "src/features/connector/openapi-document.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile,
    logLevel: "error",
  });
  const { openApiDocument } = await import(pathToFileURL(outfile).href);
  text = `${JSON.stringify(openApiDocument(), null, 2)}\n`;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

writeOrCheck(OPENAPI_JSON, text, "the connector's schemas");
