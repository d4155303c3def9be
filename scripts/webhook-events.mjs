// What `npm run webhook` sends: the command line, and events shaped like Stripe's and like the relay's
// Standard Webhooks body (README, "Payment webhooks"). Signing and sending are in webhook.mjs.
import { randomInt } from "node:crypto";
import { parseArgs } from "node:util";
import Stripe from "stripe";

/** The events `npm run webhook` can send, per provider. */
export const EVENT_TYPES = {
  stripe: ["checkout.session.completed", "invoice.paid", "customer.subscription.deleted", "charge.refunded"],
  payment: [
    "purchase.completed",
    "purchase.refunded",
    "subscription.activated",
    "subscription.renewed",
    "subscription.canceled",
  ],
};

const TIERS = ["monthly", "quarterly", "yearly"];

const USAGE = `usage: npm run webhook -- PROVIDER EVENT_TYPE [options] [--url http://localhost:8787]
  stripe checkout.session.completed --user USER_ID (--tier monthly|quarterly|yearly | --sku SKU)
  stripe invoice.paid --subscription sub_... [--period-end ISO_TIME]
  stripe customer.subscription.deleted --subscription sub_...
  stripe charge.refunded --payment-intent pi_...
  payment purchase.completed|purchase.refunded --user USER_ID --sku SKU [--purchase-id ID]
  payment subscription.activated|subscription.renewed --user USER_ID --tier TIER [--subscription-id ID] [--expires-at ISO_TIME]
  payment subscription.canceled --user USER_ID [--tier TIER] [--subscription-id ID] [--expires-at ISO_TIME]`;

/** A usage error: the message is for the user, and the exit code is 2. */
export class UsageError extends Error {}

/** What each event type needs and allows, beyond --url. */
const OPTIONS = {
  "stripe checkout.session.completed": { required: ["user"], oneOf: ["tier", "sku"] },
  "stripe invoice.paid": { required: ["subscription"], optional: ["period-end"] },
  "stripe customer.subscription.deleted": { required: ["subscription"] },
  "stripe charge.refunded": { required: ["payment-intent"] },
  "payment purchase.completed": { required: ["user", "sku"], optional: ["purchase-id"] },
  "payment purchase.refunded": { required: ["user", "sku"], optional: ["purchase-id"] },
  "payment subscription.activated": { required: ["user", "tier"], optional: ["subscription-id", "expires-at"] },
  "payment subscription.renewed": { required: ["user", "tier"], optional: ["subscription-id", "expires-at"] },
  "payment subscription.canceled": { required: ["user"], optional: ["tier", "subscription-id", "expires-at"] },
};

const OPTION_NAMES = [
  "user",
  "tier",
  "sku",
  "subscription",
  "period-end",
  "payment-intent",
  "purchase-id",
  "subscription-id",
  "expires-at",
];

function checkOptions(key, values) {
  const rule = OPTIONS[key];
  const allowed = new Set([...(rule.required ?? []), ...(rule.optional ?? []), ...(rule.oneOf ?? [])]);
  const given = OPTION_NAMES.filter((name) => values[name] !== undefined);
  for (const name of given) {
    if (!allowed.has(name)) throw new UsageError(`${key}: --${name} does not apply\n${USAGE}`);
  }
  for (const name of rule.required ?? []) {
    if (!values[name]) throw new UsageError(`${key}: --${name} is required\n${USAGE}`);
  }
  if (rule.oneOf && rule.oneOf.filter((name) => values[name] !== undefined).length !== 1) {
    throw new UsageError(`${key}: give exactly one of ${rule.oneOf.map((name) => `--${name}`).join(" and ")}`);
  }
  if (values.tier !== undefined && !TIERS.includes(values.tier)) {
    throw new UsageError(`--tier must be one of ${TIERS.join(", ")}`);
  }
  for (const name of ["period-end", "expires-at"]) {
    if (values[name] !== undefined && Number.isNaN(Date.parse(values[name]))) {
      throw new UsageError(`--${name} must be an ISO 8601 time, such as 2026-12-31T00:00:00Z`);
    }
  }
}

/** The webhook a command line asks for; throws a UsageError whose message is for the user. */
export function parseWebhookCommand(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...Object.fromEntries(OPTION_NAMES.map((name) => [name, { type: "string" }])),
        url: { type: "string", default: "http://localhost:8787" },
      },
    });
  } catch (error) {
    throw new UsageError(`${error.message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const [provider, type] = positionals;
  if (positionals.length !== 2 || !EVENT_TYPES[provider]?.includes(type)) throw new UsageError(USAGE);
  const key = `${provider} ${type}`;
  checkOptions(key, values);
  const options = Object.fromEntries(OPTION_NAMES.flatMap((name) => (values[name] ? [[name, values[name]]] : [])));
  return { provider, type, options, url: values.url.replace(/\/+$/, "") };
}

const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A fresh id in Stripe's style: the prefix and 24 random letters and digits (`evt_1Qab…`). */
export function newId(prefix) {
  return prefix + Array.from({ length: 24 }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join("");
}

const seconds = (date) => Math.floor(date.getTime() / 1000);

function oneMonthAfter(date) {
  const next = new Date(date);
  next.setUTCMonth(next.getUTCMonth() + 1);
  return next;
}

function checkoutSession(options, ids, created) {
  const forTier = options.tier !== undefined;
  return {
    id: ids.session,
    object: "checkout.session",
    amount_subtotal: 1000,
    amount_total: 1000,
    client_reference_id: options.user,
    created,
    currency: "usd",
    customer: ids.customer,
    customer_details: { email: null, name: null },
    expires_at: created + 86_400,
    livemode: false,
    metadata: forTier ? { tier: options.tier } : { sku: options.sku },
    mode: forTier ? "subscription" : "payment",
    payment_intent: forTier ? null : ids.payment_intent,
    payment_link: null,
    payment_status: "paid",
    status: "complete",
    subscription: forTier ? ids.subscription : null,
  };
}

function invoice(options, ids, now) {
  const end = seconds(options["period-end"] ? new Date(options["period-end"]) : oneMonthAfter(now));
  const parent = {
    type: "subscription_details",
    subscription_details: { metadata: {}, subscription: options.subscription },
  };
  return {
    id: ids.invoice,
    object: "invoice",
    amount_paid: 1000,
    billing_reason: "subscription_cycle",
    created: seconds(now),
    currency: "usd",
    customer: ids.customer,
    lines: {
      object: "list",
      data: [{ id: ids.line, object: "line_item", amount: 1000, period: { start: seconds(now), end } }],
      has_more: false,
    },
    livemode: false,
    parent,
    status: "paid",
  };
}

/** The ids a Stripe event of this type names, fresh except those given on the command line. */
export function stripeIds(type, options) {
  const ids = { event: newId("evt_") };
  if (type === "checkout.session.completed") {
    ids.session = newId("cs_test_");
    ids.customer = newId("cus_");
    if (options.tier !== undefined) ids.subscription = newId("sub_");
    else ids.payment_intent = newId("pi_");
  } else if (type === "invoice.paid") {
    Object.assign(ids, { invoice: newId("in_"), line: newId("il_"), customer: newId("cus_") });
  } else if (type === "customer.subscription.deleted") {
    ids.customer = newId("cus_");
  } else if (type === "charge.refunded") {
    ids.charge = newId("ch_");
  }
  return ids;
}

/** A Stripe event (https://docs.stripe.com/api/events/object) of the command's type, with these ids. */
export function stripeEvent({ type, options }, ids, now = new Date()) {
  const created = seconds(now);
  const objects = {
    "checkout.session.completed": () => checkoutSession(options, ids, created),
    "invoice.paid": () => invoice(options, ids, now),
    "customer.subscription.deleted": () => ({
      id: options.subscription,
      object: "subscription",
      canceled_at: created,
      customer: ids.customer,
      ended_at: created,
      livemode: false,
      status: "canceled",
    }),
    "charge.refunded": () => ({
      id: ids.charge,
      object: "charge",
      amount: 1000,
      amount_refunded: 1000,
      currency: "usd",
      livemode: false,
      paid: true,
      payment_intent: options["payment-intent"],
      refunded: true,
      status: "succeeded",
    }),
  };
  return {
    id: ids.event,
    object: "event",
    api_version: Stripe.API_VERSION,
    created,
    data: { object: objects[type]() },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

/** The relay's Standard Webhooks body: `{type, user_id, tier?, sku?, expires_at?, subscription_id?, purchase_id?}`. */
export function paymentEvent({ type, options }) {
  const body = { type, user_id: options.user };
  if (options.tier) body.tier = options.tier;
  if (options.sku) body.sku = options.sku;
  if (options["expires-at"]) body.expires_at = new Date(options["expires-at"]).toISOString();
  if (options["subscription-id"]) body.subscription_id = options["subscription-id"];
  if (options["purchase-id"]) body.purchase_id = options["purchase-id"];
  return body;
}
