/** The events `npm run webhook` can send, per provider. */
export const EVENT_TYPES: { stripe: string[]; payment: string[] };
/** A usage error: the message is for the user, and the exit code is 2. */
export class UsageError extends Error {}
/** What `npm run webhook` sends: provider, event type, the options given (by their flag names), the relay. */
export type WebhookCommand = {
  provider: "stripe" | "payment";
  type: string;
  options: Record<string, string>;
  url: string;
};
/** The webhook a command line asks for; throws a UsageError. */
export function parseWebhookCommand(argv: string[]): WebhookCommand;
/** A fresh id in Stripe's style: the prefix and 24 random letters and digits. */
export function newId(prefix: string): string;
/** The ids a Stripe event of this type names. */
export function stripeIds(type: string, options: Record<string, string>): Record<string, string>;
/** A Stripe event: the envelope and the object it is about. */
export type StripeEventPayload = { id: string; type: string; data: { object: Record<string, unknown> } };
/** A Stripe event of the command's type, with these ids. */
export function stripeEvent(
  command: Pick<WebhookCommand, "type" | "options">,
  ids: Record<string, string>,
  now?: Date,
): StripeEventPayload;
/** The relay's Standard Webhooks body. */
export function paymentEvent(command: Pick<WebhookCommand, "type" | "options">): Record<string, string>;
