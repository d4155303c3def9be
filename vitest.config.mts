import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        // Integration tests inside workerd, through the Worker's front door, against stand-ins on 127.0.0.1.
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: "./wrangler.jsonc" },
            miniflare: {
              bindings: {
                RELAY_SECRET: "test-relay-secret",
                OPENAI_API_KEY: "sk-test-upstream-key-0123456789",
                OPENAI_BASE_URL: `${inject("openaiStandIn")}/s/default/ok/v1`,
                RATE_LIMIT_REQUESTS: "1000",
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
        // End-to-end: the relay under `wrangler dev`, driven from Node by the official openai SDK.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
