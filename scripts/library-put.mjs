#!/usr/bin/env node
// `npm run library:put -- FILE PATH (--sku SKU | --tier TIER) [--title TITLE] [--type MEDIA_TYPE] [--url URL]`:
// streams FILE into the relay's private library at PATH (PUT /admin/library/PATH) with ADMIN_TOKEN.
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const USAGE =
  "usage: npm run library:put -- FILE PATH (--sku SKU | --tier monthly|quarterly|yearly) [--title TITLE] " +
  "[--type MEDIA_TYPE] [--url http://localhost:8787]";

const TYPES = {
  ".epub": "application/epub+zip",
  ".html": "text/html",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".json": "application/json",
  ".m4a": "audio/mp4",
  ".md": "text/markdown",
  ".mp3": "audio/mpeg",
  ".mp4": "video/mp4",
  ".pdf": "application/pdf",
  ".png": "image/png",
  ".txt": "text/plain",
  ".zip": "application/zip",
};

/** The upload a command line asks for; throws an Error whose message is for the user. */
export function parseCommand(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      sku: { type: "string" },
      tier: { type: "string" },
      title: { type: "string" },
      type: { type: "string" },
      url: { type: "string", default: "http://localhost:8787" },
    },
  });
  if (positionals.length !== 2) throw new Error(USAGE);
  if ((values.sku === undefined) === (values.tier === undefined))
    throw new Error("give exactly one of --sku and --tier");
  const [file, path] = positionals;
  return {
    file,
    path: path.replace(/^\/+/, ""),
    sku: values.sku,
    tier: values.tier,
    title: values.title ?? basename(file),
    contentType: values.type ?? TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    url: values.url.replace(/\/+$/, ""),
  };
}

/** ADMIN_TOKEN from the environment, else from .dev.vars (what `npm start` generated). */
export function adminToken(env = process.env, devVars = resolve(import.meta.dirname, "../.dev.vars")) {
  if (env.ADMIN_TOKEN) return env.ADMIN_TOKEN;
  if (existsSync(devVars)) {
    const line = readFileSync(devVars, "utf8").match(/^ADMIN_TOKEN\s*=\s*"?([^"\r\n]*)"?\s*$/m);
    if (line?.[1]) return line[1];
  }
  throw new Error("ADMIN_TOKEN is not set (export it, or run `npm start` once to create .dev.vars)");
}

/** The request URL: each segment percent-encoded, so spaces and non-ASCII names arrive intact. */
export function uploadUrl(command) {
  return `${command.url}/admin/library/${command.path.split("/").map(encodeURIComponent).join("/")}`;
}

/** Streams the file to the relay (never read whole into memory) and returns the relay's answer. */
export async function putFile(command, token) {
  const headers = {
    Authorization: `Bearer ${token}`,
    "Content-Type": command.contentType,
    "Content-Length": String(statSync(command.file).size),
    "X-Library-Title": encodeURIComponent(command.title),
  };
  if (command.sku !== undefined) headers["X-Library-Sku"] = command.sku;
  if (command.tier !== undefined) headers["X-Library-Tier"] = command.tier;
  return fetch(uploadUrl(command), {
    method: "PUT",
    headers,
    body: Readable.toWeb(createReadStream(command.file)),
    duplex: "half",
  });
}

async function main() {
  let command;
  try {
    command = parseCommand(process.argv.slice(2));
    const response = await putFile(command, adminToken());
    const body = await response.text();
    console.log(body);
    if (!response.ok) process.exit(1);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
