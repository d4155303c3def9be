import { CHATGPT_BEARER_TOKEN, GITHUB_TOKEN, OPENAI_API_KEY, RELAY_SECRET } from "./helpers";
import { ADMIN_TOKEN, PAYMENT_WEBHOOK_SECRET, STRIPE_WEBHOOK_SECRET, USER_JWT_SECRET } from "./ledger-helpers";

/** Every secret of the test configuration (vitest.config.mts): none may appear in a body, header or log. */
export const TEST_SECRETS: readonly string[] = [
  RELAY_SECRET,
  OPENAI_API_KEY,
  GITHUB_TOKEN,
  CHATGPT_BEARER_TOKEN,
  ADMIN_TOKEN,
  USER_JWT_SECRET,
  STRIPE_WEBHOOK_SECRET,
  PAYMENT_WEBHOOK_SECRET,
  // The key material of the Standard Webhooks secret, without its prefix.
  PAYMENT_WEBHOOK_SECRET.replace(/^whsec_/, ""),
];
