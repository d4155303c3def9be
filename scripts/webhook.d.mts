import type { WebhookCommand } from "./webhook-events.mjs";

/** A signed webhook request, and the ids it made. */
export type WebhookRequest = {
  url: string;
  headers: Record<string, string>;
  body: string;
  ids: Record<string, string>;
};
/** The request a command sends, signed with the secret from `vars`. */
export function buildWebhookRequest(
  command: WebhookCommand,
  vars: Record<string, string | undefined>,
  now?: Date,
): WebhookRequest;
/** The follow-up commands that the ids of a sent Stripe checkout make possible. */
export function nextSteps(command: WebhookCommand, ids: Record<string, string>): string[];
/** Runs the command; resolves to the exit code (0: a 2xx answer, 1: anything else, 2: a usage error). */
export function runWebhook(argv: string[], devVars?: string): Promise<number>;
