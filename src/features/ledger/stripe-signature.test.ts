import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { STRIPE_WEBHOOK_SECRET, stripeSignature } from "../../../test/ledger-helpers";
import { verifyStripeSignature } from "./stripe-signature";

const body = JSON.stringify({ id: "evt_1", object: "event", type: "invoice.paid" });
const T = 1_800_000_000;
const now = (seconds: number) => new Date(seconds * 1000);

describe("verifyStripeSignature (https://docs.stripe.com/webhooks#verify-manually)", () => {
  it("accepts what the official package signs, and the package accepts the same header", async () => {
    const header = await stripeSignature(body, { timestamp: T });
    expect(await verifyStripeSignature(body, header, STRIPE_WEBHOOK_SECRET, now(T))).toEqual({ ok: true });
    const event = await Stripe.webhooks.constructEventAsync(
      body,
      header,
      STRIPE_WEBHOOK_SECRET,
      1e9,
      Stripe.createSubtleCryptoProvider(),
    );
    expect(event.id).toBe("evt_1");
  });

  it("allows exactly 300 s of skew either way and refuses 301 s", async () => {
    const header = await stripeSignature(body, { timestamp: T });
    const verify = (at: number) => verifyStripeSignature(body, header, STRIPE_WEBHOOK_SECRET, now(at));
    expect(await verify(T + 300)).toEqual({ ok: true });
    expect(await verify(T - 300)).toEqual({ ok: true });
    expect(await verify(T + 301)).toEqual({ ok: false, reason: "stale_timestamp" });
    expect(await verify(T - 301)).toEqual({ ok: false, reason: "stale_timestamp" });
  });

  it("accepts any matching v1 entry (secret rotation) and ignores other schemes", async () => {
    const good = (await stripeSignature(body, { timestamp: T })).split("v1=")[1];
    const header = `t=${T},v0=${"0".repeat(64)},v1=${"a".repeat(64)},v1=${good}`;
    expect(await verifyStripeSignature(body, header, STRIPE_WEBHOOK_SECRET, now(T))).toEqual({ ok: true });
  });

  it.each([
    [undefined, "missing_header"],
    ["", "missing_header"],
    ["garbage", "malformed_header"],
    [`t=${T}`, "malformed_header"],
    [`v1=${"a".repeat(64)}`, "malformed_header"],
    [`t=${T},v1=${"a".repeat(64)}`, "no_matching_signature"],
  ])("refuses %j: %s", async (header, reason) => {
    expect(await verifyStripeSignature(body, header, STRIPE_WEBHOOK_SECRET, now(T))).toEqual({ ok: false, reason });
  });
});
