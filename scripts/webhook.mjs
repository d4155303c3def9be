#!/usr/bin/env node
// `npm run webhook -- PROVIDER EVENT_TYPE [options]`: signs a realistic payment webhook with the official
// libraries and the secrets in .dev.vars, sends it to the local relay, and prints the answer and the ids.
import { pathToFileURL } from "node:url";
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { DEV_VARS_PATH, readDevVars } from "./dev-vars.mjs";
import { newId, parseWebhookCommand, paymentEvent, stripeEvent, stripeIds, UsageError } from "./webhook-events.mjs";

/** The request a command sends: where, which headers (signature included), which body, and the ids it made. */
export function buildWebhookRequest(command, vars, now = new Date()) {
  const secretName = command.provider === "stripe" ? "STRIPE_WEBHOOK_SECRET" : "PAYMENT_WEBHOOK_SECRET";
  const secret = vars[secretName];
  if (!secret) throw new Error(`${secretName} is not set in .dev.vars`);
  if (command.provider === "stripe") {
    const ids = stripeIds(command.type, command.options);
    const body = JSON.stringify(stripeEvent(command, ids, now));
    const signature = Stripe.webhooks.generateTestHeaderString({
      payload: body,
      secret,
      timestamp: Math.floor(now.getTime() / 1000),
    });
    const headers = { "Content-Type": "application/json", "Stripe-Signature": signature };
    return { url: `${command.url}/webhooks/stripe`, headers, body, ids };
  }
  const ids = { "webhook-id": newId("msg_") };
  const body = JSON.stringify(paymentEvent(command));
  const headers = {
    "Content-Type": "application/json",
    "webhook-id": ids["webhook-id"],
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(ids["webhook-id"], now, body),
  };
  return { url: `${command.url}/webhooks/payment`, headers, body, ids };
}

/** The follow-up commands that the ids of a sent Stripe checkout make possible. */
export function nextSteps(command, ids) {
  if (command.provider !== "stripe" || command.type !== "checkout.session.completed") return [];
  if (ids.subscription) {
    return [
      `npm run webhook -- stripe invoice.paid --subscription ${ids.subscription}`,
      `npm run webhook -- stripe customer.subscription.deleted --subscription ${ids.subscription}`,
    ];
  }
  return [`npm run webhook -- stripe charge.refunded --payment-intent ${ids.payment_intent}`];
}

/** Runs the command; resolves to the exit code (0: a 2xx answer, 1: anything else, 2: a usage error). */
export async function runWebhook(argv, devVars = DEV_VARS_PATH) {
  let command;
  let request;
  try {
    command = parseWebhookCommand(argv);
    request = buildWebhookRequest(command, readDevVars(devVars));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return error instanceof UsageError ? 2 : 1;
  }
  console.log(`${command.provider} ${command.type} → POST ${request.url}`);
  const ids = Object.entries(request.ids).map(([name, id]) => `${name} ${id}`);
  console.log(`ids: ${ids.join(", ")}`);
  let response;
  try {
    response = await fetch(request.url, { method: "POST", headers: request.headers, body: request.body });
  } catch (error) {
    const reason = error.cause?.code ?? error.cause?.message ?? error.message;
    console.error(`Could not reach ${request.url} (is \`npm start\` running?): ${reason}`);
    return 1;
  }
  console.log(`HTTP ${response.status}`);
  console.log(await response.text());
  if (!response.ok) return 1;
  for (const step of nextSteps(command, request.ids)) console.log(`next: ${step}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runWebhook(process.argv.slice(2));
}
