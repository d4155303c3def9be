import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The Worker logs one line per request; show them only for a failing test.
    silent: "passed-only",
    projects: [
      {
        // Integration tests inside workerd, through the Worker's front door, against stand-ins on 127.0.0.1.
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: "./wrangler.jsonc" },
            miniflare: {
              // A second, empty database for src/features/ledger/migration.test.ts, which migrates old rows.
              d1Databases: { MIGRATION_TEST_DB: "migration-test" },
              bindings: {
                RELAY_SECRET: "test-relay-secret",
                OPENAI_API_KEY: "sk-test-upstream-key-0123456789",
                OPENAI_BASE_URL: `${inject("openaiStandIn")}/s/default/ok/v1`,
                RATE_LIMIT_REQUESTS: "1000",
                CHATGPT_BEARER_TOKEN: "test-chatgpt-token",
                GITHUB_TOKEN: "ghp_test-github-token-0123456789",
                GITHUB_API_URL: `${inject("githubStandIn")}/s/default/ok`,
                GITHUB_TIMEOUT_MS: "2000",
                ALLOWED_REPOS: "octo/hivemind, octo-org/*",
                HIVE_REPOSITORY: "octo/hive",
                CONNECTOR_RATE_LIMIT: "1000",
                TRIGGER_RATE_LIMIT: "1000",
                ADMIN_TOKEN: "test-admin-token",
                USER_JWT_SECRET: "test-user-jwt-secret-0123456789abcdef",
                STRIPE_WEBHOOK_SECRET: "whsec_test_stripe_secret_0123456789",
                PAYMENT_WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                CHASE_LINK_MONTHLY: "https://pay.test/monthly",
                CHASE_LINK_QUARTERLY: "https://pay.test/quarterly?plan=q",
                CHASE_LINK_YEARLY: "https://pay.test/yearly",
                CHASE_LINK_SKU_EBOOK: "https://pay.test/ebook",
                CHASE_LINK_SKU_MY_COURSE: "https://pay.test/my-course",
                PUBLIC_RATE_LIMIT: "1000",
                // test/integration/fuzz.test.ts: the seed and the cases per route (README, "Development").
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
          include: ["src/**/*.test.ts", "test/integration/**/*.test.ts"],
          globalSetup: ["./test/global-setup.ts"],
          setupFiles: ["./test/apply-migrations.ts"],
        },
      },
      {
        // End-to-end: the relay under `wrangler dev`, driven from Node by the official openai SDK and the
        // scripts. One relay, started in the global setup, serves every file (`inject("e2eRelay")`).
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["./test/e2e/global-setup.ts"],
          // The files mostly wait for wrangler and workerd (other processes): two at once even on two cores.
          maxWorkers: 2,
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
