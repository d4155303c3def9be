import type { TestProject } from "vitest/node";
import { startGitHubStandIn } from "../stand-ins/github";
import { startOpenAIStandIn } from "../stand-ins/openai";
import { startDevServer } from "./dev-server";

/** The secrets of the shared relay; every e2e file reads them with `inject("e2eRelay")`. */
export const E2E_SECRETS = {
  RELAY_SECRET: "e2e-relay-secret",
  OPENAI_API_KEY: "sk-e2e-upstream-key",
  MAX_TOKENS: "300",
  RATE_LIMIT_REQUESTS: "100",
  // The console test (test/e2e/console-browser.test.ts) makes about 60 admin calls in seconds, from one IP.
  PUBLIC_RATE_LIMIT: "600",
  // …and waits for its chat requests to show on the overview: usage reaches D1 a second after a request.
  USAGE_FLUSH_SECONDS: "1",
  ADMIN_TOKEN: "e2e-admin-token",
  USER_JWT_SECRET: "e2e-user-jwt-secret-0123456789abcdef",
  STRIPE_WEBHOOK_SECRET: "whsec_e2e_stripe_secret_0123456789",
  PAYMENT_WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  // Kora over MCP (test/e2e/oauth-browser.test.ts): GitHub is the stand-in, scenario "e2e-mcp".
  GITHUB_TOKEN: "ghp_e2e-github-token",
  CHATGPT_BEARER_TOKEN: "e2e-chatgpt-token",
  ALLOWED_REPOS: "octo/hivemind",
  HIVE_REPOSITORY: "octo/hive",
  // A relay that serves a web app: the consent page must work all the same, and refuse the app's own posts
  // (test/e2e/oauth-browser.test.ts serves a page at this origin inside Chromium).
  ORIGIN_ALLOWLIST: "http://webapp.test",
};

/** What the e2e files get: the shared relay's URL, its secrets (a .dev.vars-style file too), the stand-ins. */
export type E2eRelay = {
  url: string;
  secrets: typeof E2E_SECRETS & { OPENAI_BASE_URL: string; GITHUB_API_URL: string };
  envFile: string;
  openaiStandIn: string;
  githubStandIn: string;
};

declare module "vitest" {
  export interface ProvidedContext {
    e2eRelay: E2eRelay;
  }
}

/**
 * Starts one relay under `wrangler dev` for all e2e files (D1 migrated, its own state folder and secrets
 * file), with the OpenAI and GitHub stand-ins as its upstreams: `wrangler dev` takes seconds to start on a
 * small machine.
 */
export default async function setup(project: TestProject) {
  const standIn = await startOpenAIStandIn();
  const github = await startGitHubStandIn();
  const secrets = {
    ...E2E_SECRETS,
    OPENAI_BASE_URL: `${standIn.url}/s/e2e/chat-4-50/v1`,
    GITHUB_API_URL: `${github.url}/s/e2e-mcp/ok`,
  };
  try {
    const relay = await startDevServer(secrets, { migrate: true });
    project.provide("e2eRelay", {
      url: relay.url,
      secrets,
      envFile: relay.envFile,
      openaiStandIn: standIn.url,
      githubStandIn: github.url,
    });
    return async () => {
      await relay.stop();
      await standIn.close();
      await github.close();
    };
  } catch (error) {
    await standIn.close();
    await github.close();
    throw error;
  }
}
