// `npm run bench`: the relay as it runs in production — the built bundle in the workerd runtime itself — next to
// a bare pass-through Worker and the stand-in upstream, measured in one run with autocannon, targets alternating.
// Ratios relay/bare are what to compare between runs; absolute numbers drift with the machine's load.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import autocannon from "autocannon";
import { freePort } from "../test/e2e/dev-server.ts";
import { workerdConfig } from "./workerd-config.ts";

const root = resolve(import.meta.dirname, "..");
const out = resolve(root, "bench/.out");
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const firstChunkSamples = Number(process.env.BENCH_FIRST_CHUNK_SAMPLES ?? 60);
const SECRET = "bench-relay-secret";
const CHAT_PATH = "/v1/chat/completions";
const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello" }] });
const streamBody = JSON.stringify({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Hello" }],
  stream: true,
});
const headers = {
  "Content-Type": "application/json",
  Authorization: `Bearer ${SECRET}`,
  "CF-Connecting-IP": "203.0.113.7",
};

const children: ChildProcess[] = [];
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

// 1. The bundle exactly as `wrangler deploy` would upload it.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
execFileSync(
  process.execPath,
  [resolve(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", resolve(out, "relay")],
  {
    cwd: root,
    stdio: "ignore",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  },
);
const bundle = readFileSync(resolve(out, "relay/index.js"));
const gzipKiB = gzipSync(bundle).length / 1024;
copyFileSync(resolve(root, "bench/bare-worker.js"), resolve(out, "bare-worker.js"));

// 2. The stand-in upstream in its own process.
const standIn = spawn(process.execPath, [resolve(root, "bench/stand-in.ts")], { stdio: ["ignore", "pipe", "inherit"] });
children.push(standIn);
const standInUrl = await new Promise<string>((done) =>
  standIn.stdout?.once("data", (chunk: Buffer) => done(JSON.parse(chunk.toString()).openai)),
);
const upstream = `${standInUrl}/s/load-bench/chat-4-20/v1`;

// 3. workerd with the relay and the bare Worker.
const [relayPort, barePort] = [await freePort(), await freePort()];
const compatibilityDate =
  /"compatibility_date":\s*"([^"]+)"/.exec(readFileSync(resolve(root, "wrangler.jsonc"), "utf8"))?.[1] ?? "2026-11-01";
writeFileSync(
  resolve(out, "config.capnp"),
  workerdConfig({
    relayPort,
    barePort,
    upstream,
    storageDir: resolve(out, "storage"),
    compatibilityDate,
    vars: {
      RELAY_SECRET: SECRET,
      OPENAI_API_KEY: "sk-bench",
      OPENAI_BASE_URL: upstream,
      RATE_LIMIT_REQUESTS: "1000000000",
      MAX_TOKENS: "2000",
    },
  }),
);
mkdirSync(resolve(out, "storage"), { recursive: true });
// The relay's log lines go to a file, as they would go to Workers Logs, not to this terminal.
const workerdLog = openSync(resolve(out, "workerd.log"), "w");
const workerd = spawn(
  resolve(root, "node_modules/workerd/bin/workerd"),
  ["serve", "--experimental", resolve(out, "config.capnp")],
  {
    stdio: ["ignore", workerdLog, workerdLog],
  },
);
children.push(workerd);

const targets = {
  direct: `${standInUrl}/s/load-bench/chat-4-20/v1/chat/completions`,
  bare: `http://127.0.0.1:${barePort}${CHAT_PATH}`,
  relay: `http://127.0.0.1:${relayPort}${CHAT_PATH}`,
};
await waitFor(`http://127.0.0.1:${relayPort}/relay/health`);
await check(targets.relay);
await check(targets.bare);

type Sample = { rps: number; p50: number; p99: number; errors: number };
async function load(url: string, connections: number, duration: number): Promise<Sample> {
  const result = await autocannon({ url, connections, duration, method: "POST", headers, body });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

// 4. Throughput and latency, alternating targets so that drift hits all of them alike.
for (const url of Object.values(targets)) await load(url, 10, 1);
const results: Record<string, Record<string, Sample[]>> = {};
for (const connections of [10, 50]) {
  for (let round = 0; round < rounds; round++) {
    for (const [name, url] of Object.entries(targets)) {
      const byTarget = results[connections] ?? {};
      results[connections] = byTarget;
      byTarget[name] = [...(byTarget[name] ?? []), await load(url, connections, seconds)];
    }
  }
}

// 5. Time to the first streamed chunk, sequential requests, alternating bare and relay.
const firstChunk: Record<string, number[]> = { bare: [], relay: [] };
for (let i = 0; i < firstChunkSamples; i++) {
  for (const name of ["bare", "relay"] as const) firstChunk[name]?.push(await timeToFirstChunk(targets[name]));
}

// 6. The report.
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? Number.NaN;
const summary = (samples: Sample[]) => ({
  rps: median(samples.map((s) => s.rps)),
  p50: median(samples.map((s) => s.p50)),
  p99: median(samples.map((s) => s.p99)),
  errors: samples.reduce((sum, s) => sum + s.errors, 0),
});
const lines = [
  `| connections | target | req/s | p50 ms | p99 ms | non-2xx/errors |`,
  `| --- | --- | ---: | ---: | ---: | ---: |`,
];
const ratios: string[] = [];
for (const connections of [10, 50]) {
  const byTarget = Object.fromEntries(
    Object.entries(results[connections] ?? {}).map(([name, samples]) => [name, summary(samples)]),
  );
  for (const [name, s] of Object.entries(byTarget)) {
    lines.push(
      `| ${connections} | ${name} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${s.errors} |`,
    );
  }
  const bare = byTarget.bare;
  const relay = byTarget.relay;
  if (bare && relay) {
    ratios.push(
      `- ${connections} connections: relay/bare throughput **${(relay.rps / bare.rps).toFixed(2)}×**, p50 overhead **${(relay.p50 - bare.p50).toFixed(2)} ms**, p99 overhead ${(relay.p99 - bare.p99).toFixed(2)} ms`,
    );
  }
}
const ttfc = (name: string) => firstChunk[name] ?? [];
lines.push("", "| first streamed chunk | p50 ms | p90 ms |", "| --- | ---: | ---: |");
for (const name of ["bare", "relay"])
  lines.push(`| ${name} | ${median(ttfc(name)).toFixed(2)} | ${percentile(ttfc(name), 0.9).toFixed(2)} |`);
ratios.push(
  `- first streamed chunk: relay − bare p50 **${(median(ttfc("relay")) - median(ttfc("bare"))).toFixed(2)} ms**`,
);
ratios.push(`- bundle: ${(bundle.length / 1024).toFixed(1)} KiB minified, **${gzipKiB.toFixed(1)} KiB gzipped**`);

const report = [
  `Run ${new Date().toISOString()}, ${rounds} rounds × ${seconds} s per target and connection count (median of rounds), ${firstChunkSamples} first-chunk samples per target.`,
  "",
  ...lines,
  "",
  ...ratios,
].join("\n");
console.log(report);
writeFileSync(resolve(out, "report.md"), `${report}\n`);
// A benchmark of failing requests measures nothing: say so and fail.
const failed = Object.values(results)
  .flatMap((byTarget) => Object.values(byTarget).flat())
  .some((s) => s.errors > 0);
if (failed) console.error("Some requests failed (see the last column): these numbers are not valid.");
process.exit(failed ? 1 : 0);

async function waitFor(url: string) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`${url} did not come up`);
}

async function check(url: string) {
  const response = await fetch(url, { method: "POST", headers, body });
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
}

async function timeToFirstChunk(url: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { method: "POST", headers, body: streamBody });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  const elapsed = performance.now() - started;
  await reader.cancel();
  return elapsed;
}
