// `npm run soak`: the relay under `wrangler dev` with both stand-ins, driven at a fixed rate by a mixed load
// (chat, streamed chat, connector list, entitlement check, payment webhook) for a bounded time, loopback only.
// Reports requests, unexpected answers, p50/p99 per route and the workerd process's memory at start and end.
// SOAK_SECONDS (default 60) and SOAK_RATE (requests per second, default 40) change the load; SOAK_ROUTES
// (comma-separated substrings of the route names below) keeps only some routes, to find what grows.
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { Webhook } from "standardwebhooks";
import { startDevServer } from "../test/e2e/dev-server.ts";

const root = resolve(import.meta.dirname, "..");
const seconds = Number(process.env.SOAK_SECONDS ?? 60);
const rate = Number(process.env.SOAK_RATE ?? 40);
const maxInFlight = 200;
const secrets = {
  RELAY_SECRET: `soak-${randomUUID()}`,
  CHATGPT_BEARER_TOKEN: `soak-${randomUUID()}`,
  ADMIN_TOKEN: `soak-${randomUUID()}`,
  PAYMENT_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString("base64")}`,
  OPENAI_API_KEY: "sk-soak",
  GITHUB_TOKEN: "ghp_soak",
};

const standIn = spawn(process.execPath, [resolve(root, "bench/stand-in.ts")], { stdio: ["ignore", "pipe", "inherit"] });
process.on("exit", () => standIn.kill("SIGKILL"));
const urls = await new Promise<{ openai: string; github: string }>((done) =>
  standIn.stdout?.once("data", (chunk: Buffer) => done(JSON.parse(chunk.toString()))),
);

const relay = await startDevServer(
  {
    ...secrets,
    OPENAI_BASE_URL: `${urls.openai}/s/load-soak/chat-3-20/v1`,
    GITHUB_API_URL: `${urls.github}/s/load-soak/ok`,
    ALLOWED_REPOS: "soul/mirror",
    RATE_LIMIT_REQUESTS: "1000000",
    CONNECTOR_RATE_LIMIT: "1000000",
    PUBLIC_RATE_LIMIT: "1000000",
  },
  { migrate: true },
);

const webhook = new Webhook(secrets.PAYMENT_WEBHOOK_SECRET);
const chat = { model: "gpt-4o-mini", messages: [{ role: "user", content: "soak" }] };
const json = (token: string) => ({ "Content-Type": "application/json", Authorization: `Bearer ${token}` });

type Route = { name: string; expect: number; send(): Promise<Response> };
const allRoutes: Route[] = [
  // Not part of the default mix: a baseline for SOAK_ROUTES=health (what the runtime itself grows by).
  { name: "GET /relay/health", expect: 200, send: () => fetch(`${relay.url}/relay/health`) },
  {
    name: "POST /v1/chat/completions",
    expect: 200,
    send: () =>
      fetch(`${relay.url}/v1/chat/completions`, {
        method: "POST",
        headers: json(secrets.RELAY_SECRET),
        body: JSON.stringify(chat),
      }),
  },
  {
    name: "POST /v1/chat/completions (stream)",
    expect: 200,
    send: () =>
      fetch(`${relay.url}/v1/chat/completions`, {
        method: "POST",
        headers: json(secrets.RELAY_SECRET),
        body: JSON.stringify({ ...chat, stream: true }),
      }),
  },
  {
    name: "POST /chatgpt/prs/list",
    expect: 200,
    send: () =>
      fetch(`${relay.url}/chatgpt/prs/list`, {
        method: "POST",
        headers: json(secrets.CHATGPT_BEARER_TOKEN),
        body: JSON.stringify({ owner: "soul", repo: "mirror" }),
      }),
  },
  {
    name: "GET /entitlements/check",
    expect: 200,
    send: () =>
      fetch(`${relay.url}/entitlements/check?user_id=soak-${Math.floor(Math.random() * 50)}`, {
        headers: json(secrets.ADMIN_TOKEN),
      }),
  },
  {
    name: "POST /webhooks/payment",
    expect: 200,
    send: () => {
      const id = `msg_${randomUUID()}`;
      const body = JSON.stringify({
        type: "purchase.completed",
        user_id: `soak-${Math.floor(Math.random() * 50)}`,
        sku: `SKU-${Math.floor(Math.random() * 20)}`,
      });
      const now = new Date();
      const headers = {
        "Content-Type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
        "webhook-signature": webhook.sign(id, now, body),
      };
      return fetch(`${relay.url}/webhooks/payment`, { method: "POST", headers, body });
    },
  },
];

const only = process.env.SOAK_ROUTES?.split(",").filter(Boolean);
const routes = only
  ? allRoutes.filter((route) => only.some((part) => route.name.includes(part)))
  : allRoutes.filter((route) => route.name !== "GET /relay/health");

const workerdPid = () => {
  // wrangler → workerd: the runtime is the descendant named workerd.
  const pending = [relay.pid];
  while (pending.length > 0) {
    const pid = pending.shift() as number;
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "workerd") return pid;
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
      if (children) pending.push(...children.split(" ").map(Number));
    } catch {
      // the process ended
    }
  }
  return undefined;
};
const rssMiB = (pid: number | undefined) => {
  if (!pid) return Number.NaN;
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return line ? Number(line[1]) / 1024 : Number.NaN;
};

// Warm up every route once, then record the runtime's memory.
for (const route of routes) await (await route.send()).arrayBuffer();
const runtime = workerdPid();
const memoryStart = rssMiB(runtime);

const stats = new Map(
  routes.map((route) => [route.name, { latencies: [] as number[], unexpected: new Map<string, number>() }]),
);
let inFlight = 0;
let skipped = 0;
const pending = new Set<Promise<void>>();
const fire = (route: Route) => {
  const stat = stats.get(route.name);
  if (!stat) return;
  if (inFlight >= maxInFlight) {
    skipped++;
    return;
  }
  inFlight++;
  const started = performance.now();
  const done = route
    .send()
    .then(async (response) => {
      await response.arrayBuffer();
      stat.latencies.push(performance.now() - started);
      if (response.status !== route.expect) {
        const key = String(response.status);
        stat.unexpected.set(key, (stat.unexpected.get(key) ?? 0) + 1);
      }
    })
    .catch((error: Error) => {
      stat.unexpected.set(error.name, (stat.unexpected.get(error.name) ?? 0) + 1);
    })
    .finally(() => {
      inFlight--;
      pending.delete(done);
    });
  pending.add(done);
};

const memorySamples: number[] = [memoryStart];
const started = Date.now();
let sent = 0;
await new Promise<void>((finish) => {
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    while (sent < due) fire(routes[sent++ % routes.length] as Route);
    if (Date.now() - started >= seconds * 1000) {
      clearInterval(timer);
      finish();
    }
  }, 5);
  const sampler = setInterval(() => memorySamples.push(rssMiB(runtime)), 10_000);
  setTimeout(() => clearInterval(sampler), seconds * 1000);
});
await Promise.all(pending);
const memoryEnd = rssMiB(runtime);
await relay.stop();
standIn.kill("SIGTERM");

const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * q))] ?? Number.NaN;
const rows = [...stats].map(([name, stat]) => {
  const unexpected = [...stat.unexpected].map(([status, count]) => `${count}×${status}`).join(", ") || "0";
  return `| ${name} | ${stat.latencies.length} | ${unexpected} | ${quantile(stat.latencies, 0.5).toFixed(1)} | ${quantile(stat.latencies, 0.99).toFixed(1)} |`;
});
const total = [...stats.values()].reduce((sum, stat) => sum + stat.latencies.length, 0);
const unexpectedTotal = [...stats.values()].reduce(
  (sum, stat) => sum + [...stat.unexpected.values()].reduce((a, b) => a + b, 0),
  0,
);
const report = [
  `Soak ${new Date().toISOString()}: ${seconds} s at ${rate} req/s under wrangler dev, ${total} requests, ${unexpectedTotal} unexpected, ${skipped} not sent (over ${maxInFlight} in flight).`,
  "",
  "| route | requests | unexpected | p50 ms | p99 ms |",
  "| --- | ---: | ---: | ---: | ---: |",
  ...rows,
  "",
  `workerd memory (RSS): ${memoryStart.toFixed(1)} MiB at start, ${memoryEnd.toFixed(1)} MiB at end; samples every 10 s: ${memorySamples.map((m) => m.toFixed(1)).join(", ")} MiB.`,
].join("\n");
console.log(report);
mkdirSync(resolve(root, "bench/.out"), { recursive: true });
writeFileSync(resolve(root, "bench/.out/soak.md"), `${report}\n`);
process.exit(unexpectedTotal > 0 ? 1 : 0);
