import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { buildConsole } from "./scripts/build-console.mjs";
import {
  ADMIN_TOKEN,
  BUDGET_ALERT_WEBHOOK_SECRET,
  CHATGPT_BEARER_TOKEN,
  GITHUB_TOKEN,
  GITHUB_WEBHOOK_SECRET,
  OPENAI_API_KEY,
  PAYMENT_WEBHOOK_SECRET,
  RELAY_SECRET,
  STRIPE_WEBHOOK_SECRET,
  USER_JWT_SECRET,
} from "./test/secrets.ts";

// What workerd and Vite print about things the tests do on purpose: connections a stand-in resets or a
// client cuts ("uncaught exception … Network connection lost"), and source maps that packages do not ship.
// Everything else still reaches the terminal; a test that fails still shows its own output, its error's
// message included (so only workerd's own "uncaught exception" lines are matched).
const EXPECTED_NOISE = [
  /^uncaught exception; .*Network connection lost/,
  /^exception = \S+: disconnected: /,
  /^NOSENTRY SQLite alarm handler canceled/,
  // …and what workerd says when a busy machine runs a Durable Object's alarm late.
  /^NOSENTRY SQLite alarm overdue/,
  /Can't read from request stream because client disconnected/,
  /^stack: (?:\S*workerd@\S+ ?)+$/,
  /^Sourcemap for ".*node_modules\/.*" points to missing source files$/,
  // src/features/dispatches/queue.test.ts sends a dispatch to the dead-letter queue on purpose.
  /^\[mf:warn\] Moving message "\w+" on queue "soul-mirror-dispatch" to dead letter queue/,
];
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    const kept = text.split("\n").filter((line) => !EXPECTED_NOISE.some((noise) => noise.test(line.trim())));
    if (kept.every((line) => line.trim() === "")) return true;
    return write(kept.join("\n"), ...rest);
  }) as typeof stream.write;
}

// The operator console's static assets (console/dist), which the Worker serves at /admin: built before any test.
await buildConsole();

export default defineConfig({
  test: {
    // A line per finished file, then only failures and the summary; the Worker's own log lines show only for
    // a failing test.
    reporters: ["minimal", "./test/progress-reporter.ts"],
    silent: "passed-only",
    projects: [
      {
        // Integration tests inside workerd, through the Worker's front door, against stand-ins on 127.0.0.1.
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: "./wrangler.jsonc" },
            miniflare: {
              // Client ID Metadata Documents (src/features/oauth/cimd.test.ts): fetches to https://*.cimd.test go
              // to the client-metadata stand-in on 127.0.0.1, everything else out unchanged. A test-only setting:
              // only Miniflare has outbound services; a deployed Worker cannot be given one (SECURITY.md).
              outboundService: "client-host-router",
              workers: [
                {
                  name: "client-host-router",
                  modules: true,
                  scriptPath: "./test/stand-ins/client-host-router.mjs",
                  compatibilityDate: "2026-11-01",
                  bindings: { CLIENT_METADATA_STAND_IN: inject("clientMetadataStandIn") },
                },
              ],
              // A second, empty database for src/features/ledger/migration.test.ts, which migrates old rows.
              d1Databases: { MIGRATION_TEST_DB: "migration-test" },
              // The dispatch queue as in wrangler.jsonc, but delivering at once and giving up after 3 deliveries
              // instead of 13, so that src/features/dispatches/queue.test.ts reaches the dead-letter queue at once.
              queueConsumers: {
                "soul-mirror-dispatch": {
                  maxBatchSize: 10,
                  maxBatchTimeout: 0,
                  maxRetries: 2,
                  deadLetterQueue: "soul-mirror-dispatch-dead",
                },
                "soul-mirror-dispatch-dead": { maxBatchSize: 10, maxBatchTimeout: 0 },
              },
              bindings: {
                RELAY_SECRET,
                OPENAI_API_KEY,
                OPENAI_BASE_URL: `${inject("openaiStandIn")}/s/default/ok/v1`,
                RATE_LIMIT_REQUESTS: "1000",
                CHATGPT_BEARER_TOKEN,
                GITHUB_TOKEN,
                GITHUB_API_URL: `${inject("githubStandIn")}/s/default/ok`,
                GITHUB_TIMEOUT_MS: "2000",
                ALLOWED_REPOS: "octo/hivemind, octo-org/*",
                HIVE_REPOSITORY: "octo/hive",
                CONNECTOR_RATE_LIMIT: "1000",
                TRIGGER_RATE_LIMIT: "1000",
                ADMIN_TOKEN,
                USER_JWT_SECRET,
                STRIPE_WEBHOOK_SECRET,
                PAYMENT_WEBHOOK_SECRET,
                CHASE_LINK_MONTHLY: "https://pay.test/monthly",
                CHASE_LINK_QUARTERLY: "https://pay.test/quarterly?plan=q",
                CHASE_LINK_YEARLY: "https://pay.test/yearly",
                CHASE_LINK_SKU_EBOOK: "https://pay.test/ebook",
                CHASE_LINK_SKU_MY_COURSE: "https://pay.test/my-course",
                PUBLIC_RATE_LIMIT: "1000",
                // Budget alerts go to the receiver stand-in; a failed delivery is retried at once, not in 30 s.
                BUDGET_ALERT_WEBHOOK_URL: `${inject("webhookReceiver")}/alerts`,
                BUDGET_ALERT_WEBHOOK_SECRET,
                BUDGET_ALERT_RETRY_SECONDS: "0",
                // Usage totals reach D1 a fifth of a second after a report, not ten seconds.
                USAGE_FLUSH_SECONDS: "0.2",
                // A queued dispatch is retried at once, not in 30 s (nor after GitHub's Retry-After).
                DISPATCH_RETRY_SECONDS: "0",
                GITHUB_WEBHOOK_SECRET,
                // test/integration/fuzz.test.ts: the seed and the cases per route (docs/development.md).
                FUZZ_SEED: process.env.FUZZ_SEED ?? "",
                FUZZ_RUNS: process.env.FUZZ_RUNS ?? "",
                // Applied to D1 by test/apply-migrations.ts before every test file.
                TEST_MIGRATIONS: await readD1Migrations("./migrations"),
              },
            },
          })),
        ],
        test: {
          name: "workers",
          // A test's own deadlines (a stand-in's delay, a timeout under test) decide what it checks; these only
          // catch a hang, and leave room for a machine that is busy with other work (the defaults are 5 s, 10 s).
          testTimeout: 30_000,
          hookTimeout: 60_000,
          // One workerd per worker process for all its files, not one per file: every test uses ids of its own.
          isolate: false,
          maxWorkers: 2,
          include: ["src/**/*.test.ts", "test/integration/**/*.test.ts"],
          globalSetup: ["./test/global-setup.ts"],
          setupFiles: ["./test/apply-migrations.ts"],
        },
      },
      {
        // The documentation against the code: cited tests and named files exist, no link leaves the repository.
        test: { name: "docs", include: ["test/docs/**/*.test.ts"], environment: "node" },
      },
      {
        // End-to-end: the relay under `wrangler dev`, driven from Node by the official openai SDK and the
        // scripts. One relay, started in the global setup, serves every file (`inject("e2eRelay")`).
        test: {
          name: "e2e",
          // …and the stand-ins' own helpers, which run in Node too.
          include: ["test/e2e/**/*.test.ts", "test/stand-ins/**/*.test.ts"],
          globalSetup: ["./test/e2e/global-setup.ts"],
          // The files mostly wait for wrangler and workerd (other processes): two at once even on two cores,
          // after the workers project (a project with its own maxWorkers runs in a group of its own).
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
          environment: "node",
          testTimeout: 60_000,
          // A file that starts a relay of its own waits for `wrangler dev` (test/e2e/dev-server.ts: up to 120 s).
          hookTimeout: 150_000,
        },
      },
    ],
  },
});
