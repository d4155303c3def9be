// `npm run bench`: the relay as it runs in production — the built bundle in the workerd runtime itself — next to
// a bare pass-through Worker and the stand-in upstream, measured in one run with autocannon, targets alternating.
// Ratios relay/bare are what to compare between runs; absolute numbers drift with the machine's load.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import autocannon from "autocannon";
import { freePort } from "../test/e2e/dev-server.ts";
import { migrateShim } from "../test/e2e/isolates.ts";
import { cpuMillis, measureParts } from "./parts.ts";
import { workerdConfig } from "./workerd-config.ts";

const root = resolve(import.meta.dirname, "..");
const out = resolve(root, "bench/.out");
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const firstChunkSamples = Number(process.env.BENCH_FIRST_CHUNK_SAMPLES ?? 60);
const KEYS = Number(process.env.BENCH_KEYS ?? 100);
const SECRET = "bench-relay-secret";
const ADMIN_TOKEN = "bench-admin-token";
const CHAT_PATH = "/v1/chat/completions";
const hello = { model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello" }] };
const body = JSON.stringify(hello);
const streamBody = JSON.stringify({ ...hello, stream: true });
const RESPONSES_PATH = "/v1/responses";
const responsesStreamBody = JSON.stringify({ model: hello.model, input: "Hello", stream: true });
const headersOf = (credential: string) => ({
  "Content-Type": "application/json",
  Authorization: `Bearer ${credential}`,
  "CF-Connecting-IP": "203.0.113.7",
});

const children: ChildProcess[] = [];
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});
const wrangler = (args: string[]) =>
  execFileSync(process.execPath, [resolve(root, "node_modules/wrangler/bin/wrangler.js"), ...args], {
    cwd: root,
    stdio: "ignore",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
  });

// 1. The bundle exactly as `wrangler deploy` would upload it.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
wrangler(["deploy", "--dry-run", "--outdir", resolve(out, "relay")]);
wrangler(["deploy", "--dry-run", "--config", "bench/parts.wrangler.jsonc", "--outdir", resolve(out, "parts")]);
const bundle = readFileSync(resolve(out, "relay/index.js"));
const gzipKiB = gzipSync(bundle).length / 1024;

// 2. The stand-in upstream in its own process.
const standIn = spawn(process.execPath, [resolve(root, "bench/stand-in.ts")], { stdio: ["ignore", "pipe", "inherit"] });
children.push(standIn);
const standInUrl = await firstLine<{ openai: string }>(standIn).then((line) => line.openai);
const upstream = `${standInUrl}/s/load-bench/chat-4-20/v1`;

// 3. workerd with the relay, the bare Worker and the database (bench/workerd-config.ts), migrated.
const [relayPort, barePort, helloPort, databasePort, partsPort] = [
  await freePort(),
  await freePort(),
  await freePort(),
  await freePort(),
  await freePort(),
];
const compatibilityDate =
  /"compatibility_date":\s*"([^"]+)"/.exec(readFileSync(resolve(root, "wrangler.jsonc"), "utf8"))?.[1] ?? "2026-11-01";
for (const file of ["bare-worker.js", "hello-worker.js", "flood-guard.js", "d1-shim.js"])
  copyFileSync(resolve(root, "bench", file), resolve(out, file));
mkdirSync(resolve(out, "storage"), { recursive: true });
writeFileSync(
  resolve(out, "config.capnp"),
  workerdConfig({
    relayPort,
    barePort,
    helloPort,
    databasePort,
    partsPort,
    upstream,
    storageDir: resolve(out, "storage"),
    compatibilityDate,
    floodGuardPerMinute: 1_000_000_000,
    // Every limit raised so that nothing is refused: the benchmark measures the work, not the refusals.
    vars: {
      RELAY_SECRET: SECRET,
      ADMIN_TOKEN,
      OPENAI_API_KEY: "sk-bench",
      OPENAI_BASE_URL: upstream,
      RATE_LIMIT_REQUESTS: "1000000000",
      PUBLIC_RATE_LIMIT: "1000000000",
      MAX_TOKENS: "2000",
    },
  }),
);
// The relay's log lines go to a file, as they would go to Workers Logs, not to this terminal.
const workerdLog = openSync(resolve(out, "workerd.log"), "w");
const workerd = spawn(
  resolve(root, "node_modules/workerd/bin/workerd"),
  ["serve", "--experimental", resolve(out, "config.capnp")],
  { stdio: ["ignore", workerdLog, workerdLog] },
);
children.push(workerd);
await waitFor(`http://127.0.0.1:${relayPort}/relay/health`);
await migrateShim(`http://127.0.0.1:${databasePort}`);

// BENCH_PARTS_ONLY=1: the parts table alone, a minute instead of several (for trying a change out).
if (process.env.BENCH_PARTS_ONLY) {
  const parts = await measureParts(`http://127.0.0.1:${partsPort}`, workerd.pid);
  for (const [name, { wall, cpu }] of Object.entries(parts))
    console.log(`| ${name} | ${wall.toFixed(1)} | ${cpu.toFixed(1)} |`);
  process.exit(0);
}

// 4. 100 relay keys, each with a budget and a per-minute limit of its own, all metered.
const keys: string[] = [];
for (let i = 0; i < KEYS; i++) {
  const response = await fetch(`http://127.0.0.1:${relayPort}/admin/keys`, {
    method: "POST",
    headers: headersOf(ADMIN_TOKEN),
    body: JSON.stringify({
      name: `bench ${i}`,
      monthly_token_budget: 1_000_000_000_000,
      rate_limit_per_minute: 1_000_000,
    }),
  });
  if (response.status !== 201)
    throw new Error(`POST /admin/keys answered ${response.status}: ${await response.text()}`);
  keys.push(((await response.json()) as { secret: string }).secret);
}

type Target = { url: string; method?: "GET"; requests: Array<{ headers: Record<string, string> }> };
const relayUrl = `http://127.0.0.1:${relayPort}${CHAT_PATH}`;
const targets: Record<string, Target> = {
  direct: { url: `${upstream}/chat/completions`, requests: [{ headers: headersOf("") }] },
  bare: { url: `http://127.0.0.1:${barePort}${CHAT_PATH}`, requests: [{ headers: headersOf("") }] },
  relay: { url: relayUrl, requests: [{ headers: headersOf(SECRET) }] },
  keys: { url: relayUrl, requests: keys.map((key) => ({ headers: headersOf(key) })) },
  // The fixed cost of every route: the relay's health route against the smallest Worker there is.
  hello: { url: `http://127.0.0.1:${helloPort}/`, method: "GET", requests: [{ headers: headersOf("") }] },
  health: { url: `http://127.0.0.1:${relayPort}/relay/health`, method: "GET", requests: [{ headers: headersOf("") }] },
};
for (const target of Object.values(targets)) {
  for (const { headers } of target.requests.slice(0, 3)) await check(target, headers);
}
// The Responses stream too (the first-event timings below would otherwise time an error just as well).
for (const name of ["bare", "relay", "keys"]) {
  const target = targets[name] as Target;
  const headers = target.requests[0]?.headers ?? {};
  await check({ ...target, url: target.url.replace(CHAT_PATH, RESPONSES_PATH) }, headers, responsesStreamBody);
}

type Sample = { rps: number; p50: number; p99: number; errors: number; cpuMicros: number };
async function load(target: Target, connections: number, duration: number): Promise<Sample> {
  const cpuBefore = cpuMillis(workerd.pid);
  const method = target.method ?? "POST";
  const sent = method === "GET" ? undefined : body;
  const result = await autocannon({
    url: target.url,
    connections,
    duration,
    method,
    body: sent,
    // Each request takes one of the target's credentials at random (with 100 keys: about 1 % of the load each,
    // arriving independently, as separate clients' requests would).
    requests: [
      {
        method,
        body: sent,
        setupRequest: (request) => ({
          ...request,
          headers: target.requests[Math.floor(Math.random() * target.requests.length)]?.headers,
        }),
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    // workerd's CPU time per request: what the Worker costs, whatever else the machine is doing.
    cpuMicros: ((cpuMillis(workerd.pid) - cpuBefore) * 1000) / Math.max(1, result.requests.total),
  };
}

// 5. Throughput and latency, alternating targets so that drift hits all of them alike.
for (const target of Object.values(targets)) await load(target, 10, 1);
const results: Record<string, Record<string, Sample[]>> = {};
for (const connections of [10, 50]) {
  for (let round = 0; round < rounds; round++) {
    for (const [name, target] of Object.entries(targets)) {
      const byTarget = results[connections] ?? {};
      results[connections] = byTarget;
      byTarget[name] = [...(byTarget[name] ?? []), await load(target, connections, seconds)];
    }
  }
}

// 6. Time to the first streamed chunk of a chat and to the first event of a Responses stream, sequential
// requests, alternating bare, relay and keys.
const streams = {
  chat: { path: CHAT_PATH, body: streamBody },
  responses: { path: RESPONSES_PATH, body: responsesStreamBody },
};
const firstChunk: Record<string, number[]> = {};
for (let i = 0; i < firstChunkSamples; i++) {
  for (const [stream, { path, body: sent }] of Object.entries(streams)) {
    for (const name of ["bare", "relay", "keys"] as const) {
      const target = targets[name] as Target;
      const headers = target.requests[i % target.requests.length]?.headers ?? {};
      const key = stream === "chat" ? name : `${stream}: ${name}`;
      firstChunk[key] = [
        ...(firstChunk[key] ?? []),
        await timeToFirstChunk(target.url.replace(CHAT_PATH, path), headers, sent),
      ];
    }
  }
}

// 7. The relay's per-request parts, one at a time, in the same workerd.
const parts = await measureParts(`http://127.0.0.1:${partsPort}`, workerd.pid);

// 8. The report.
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
  cpuMicros: median(samples.map((s) => s.cpuMicros)),
});
const lines = [
  `| connections | target | req/s | p50 ms | p99 ms | workerd CPU µs/request | non-2xx/errors |`,
  `| --- | --- | ---: | ---: | ---: | ---: | ---: |`,
];
const ratios: string[] = [];
for (const connections of [10, 50]) {
  const byTarget = Object.fromEntries(
    Object.entries(results[connections] ?? {}).map(([name, samples]) => [name, summary(samples)]),
  );
  for (const [name, s] of Object.entries(byTarget)) {
    lines.push(
      `| ${connections} | ${name} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${s.cpuMicros.toFixed(0)} | ${s.errors} |`,
    );
  }
  const bare = byTarget.bare;
  for (const name of ["relay", "keys"]) {
    const relay = byTarget[name];
    if (!bare || !relay) continue;
    const throughput = relay.rps / bare.rps;
    const cpu = relay.cpuMicros / bare.cpuMicros;
    // The targets (issue 19): at 50 connections, throughput ≥ 0.6× bare and CPU per request ≤ 2× bare.
    const verdict =
      connections === 50
        ? ` (targets ≥ 0.6× and ≤ 2×: ${throughput >= 0.6 ? "met" : "not met"}, ${cpu <= 2 ? "met" : "not met"})`
        : "";
    ratios.push(
      `- ${connections} connections, ${name}: relay/bare throughput **${throughput.toFixed(2)}×**, CPU per request relay/bare **${cpu.toFixed(2)}×**${verdict}, p50 overhead ${(relay.p50 - bare.p50).toFixed(2)} ms, p99 overhead ${(relay.p99 - bare.p99).toFixed(2)} ms`,
    );
  }
  const { hello, health } = byTarget;
  if (hello && health) {
    const cpu = health.cpuMicros / hello.cpuMicros;
    ratios.push(
      `- ${connections} connections, GET /relay/health against hello-world: CPU per request **${cpu.toFixed(2)}×** (target ≤ 1.5×: ${cpu <= 1.5 ? "met" : "not met"}), throughput ${(health.rps / hello.rps).toFixed(2)}×`,
    );
  }
}
const ttfc = (name: string) => firstChunk[name] ?? [];
lines.push("", "| first streamed chunk (chat) / first event (Responses) | p50 ms | p90 ms |", "| --- | ---: | ---: |");
for (const name of Object.keys(firstChunk))
  lines.push(`| ${name} | ${median(ttfc(name)).toFixed(2)} | ${percentile(ttfc(name), 0.9).toFixed(2)} |`);
for (const [stream, prefix] of [
  ["first streamed chunk", ""],
  ["first Responses event", "responses: "],
] as const) {
  for (const name of ["relay", "keys"]) {
    const overhead = median(ttfc(`${prefix}${name}`)) - median(ttfc(`${prefix}bare`));
    ratios.push(`- ${stream}, ${name}: relay − bare p50 **${overhead.toFixed(2)} ms**`);
  }
}
ratios.push(`- bundle: ${(bundle.length / 1024).toFixed(1)} KiB minified, **${gzipKiB.toFixed(1)} KiB gzipped**`);
lines.push("", "| part, one call | wall µs | workerd CPU µs |", "| --- | ---: | ---: |");
for (const [name, { wall, cpu }] of Object.entries(parts))
  lines.push(`| ${name} | ${wall.toFixed(1)} | ${cpu.toFixed(1)} |`);

const report = [
  `Run ${new Date().toISOString()}, ${rounds} rounds × ${seconds} s per target and connection count (median of rounds), ${firstChunkSamples} first-chunk samples per target, ${KEYS} keys.`,
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

async function firstLine<T = unknown>(child: ChildProcess): Promise<T> {
  return new Promise((done, fail) => {
    child.once("exit", (code) => fail(new Error(`a benchmark process exited early (${code})`)));
    child.stdout?.once("data", (chunk: Buffer) => done(JSON.parse(chunk.toString().split("\n")[0] ?? "{}")));
  });
}

async function check(target: Target, headers: Record<string, string>, sent = body) {
  const method = target.method ?? "POST";
  const response = await fetch(target.url, { method, headers, body: method === "GET" ? undefined : sent });
  if (response.status !== 200) throw new Error(`${target.url} answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
}

/**
 * Time to the first chunk of a streamed answer, on a connection of its own (no pool, no reused socket). The
 * headers are copied without any `Content-Length`: autocannon writes its own body's length into the header
 * objects it is handed, which would cut this body short. Anything but a 200 fails the run.
 */
function timeToFirstChunk(url: string, given: Record<string, string>, sent: string): Promise<number> {
  const headers = Object.fromEntries(Object.entries(given).filter(([name]) => name.toLowerCase() !== "content-length"));
  return new Promise((done, fail) => {
    const started = performance.now();
    const request = httpRequest(url, { method: "POST", headers, agent: false }, (response) => {
      if (response.statusCode !== 200) fail(new Error(`${url} answered ${response.statusCode}`));
      response.once("data", () => {
        done(performance.now() - started);
        response.destroy();
      });
      response.once("error", fail);
    });
    request.once("error", fail);
    // A first chunk that never comes fails the run instead of hanging it.
    request.setTimeout(10_000, () => request.destroy(new Error(`${url}: no first chunk within 10 s`)));
    request.end(sent);
  });
}
