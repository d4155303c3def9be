/**
 * Every secret of the test configuration, in one place: vitest.config.mts gives them to the Worker, the tests
 * present them, and no body, header or log line may contain any of them.
 */
export const RELAY_SECRET = "test-relay-secret";
export const OPENAI_API_KEY = "sk-test-upstream-key-0123456789";
export const CHATGPT_BEARER_TOKEN = "test-chatgpt-token";
export const GITHUB_TOKEN = "ghp_test-github-token-0123456789";
export const ADMIN_TOKEN = "test-admin-token";
export const USER_JWT_SECRET = "test-user-jwt-secret-0123456789abcdef";
export const STRIPE_WEBHOOK_SECRET = "whsec_test_stripe_secret_0123456789";
export const PAYMENT_WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
export const BUDGET_ALERT_WEBHOOK_SECRET = "whsec_YnVkZ2V0LWFsZXJ0LXNlY3JldC0wMTIzNDU2Nzg5";
export const GITHUB_WEBHOOK_SECRET = "test-github-webhook-secret-0123456789";

/** The list the leak checks walk, with the key material of the Standard Webhooks secret without its prefix. */
export const TEST_SECRETS: readonly string[] = [
  RELAY_SECRET,
  OPENAI_API_KEY,
  GITHUB_TOKEN,
  CHATGPT_BEARER_TOKEN,
  ADMIN_TOKEN,
  USER_JWT_SECRET,
  STRIPE_WEBHOOK_SECRET,
  PAYMENT_WEBHOOK_SECRET,
  PAYMENT_WEBHOOK_SECRET.replace(/^whsec_/, ""),
  BUDGET_ALERT_WEBHOOK_SECRET,
  BUDGET_ALERT_WEBHOOK_SECRET.replace(/^whsec_/, ""),
  GITHUB_WEBHOOK_SECRET,
];
