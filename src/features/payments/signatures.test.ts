import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { PAYMENT_WEBHOOK_SECRET, STRIPE_WEBHOOK_SECRET } from "../../../test/secrets";
import { stripeSignature } from "../../../test/support/ledger";
import { standardWebhookKey } from "../../lib/hmac";
import { verifyStandardSignature, verifyStripeSignature } from "./signatures";

const encoder = new TextEncoder();
const body = JSON.stringify({ id: "evt_1", object: "event", type: "invoice.paid" });
const bytes = encoder.encode(body);
const T = 1_800_000_000;
const now = (seconds: number) => new Date(seconds * 1000);

/** Two byte strings that decode to the same text: each has an invalid UTF-8 byte, which decodes to U+FFFD. */
const signedBytes = new Uint8Array([...encoder.encode('{"note":"'), 0xff, ...encoder.encode('"}')]);
const forgedBytes = new Uint8Array([...encoder.encode('{"note":"'), 0xfe, ...encoder.encode('"}')]);

describe("verifyStripeSignature (https://docs.stripe.com/webhooks#verify-manually)", () => {
  it("accepts what the official package signs, and the package accepts the same header", async () => {
    const header = await stripeSignature(body, { timestamp: T });
    expect(await verifyStripeSignature(bytes, header, STRIPE_WEBHOOK_SECRET, now(T))).toEqual({ ok: true });
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
    const verify = (at: number) => verifyStripeSignature(bytes, header, STRIPE_WEBHOOK_SECRET, now(at));
    const stale = { ok: false, reason: "Stripe-Signature timestamp is outside the 300 s tolerance" };
    expect(await verify(T + 300)).toEqual({ ok: true });
    expect(await verify(T - 300)).toEqual({ ok: true });
    expect(await verify(T + 301)).toEqual(stale);
    expect(await verify(T - 301)).toEqual(stale);
  });

  it("accepts any matching v1 entry (secret rotation) and ignores other schemes", async () => {
    const good = (await stripeSignature(body, { timestamp: T })).split("v1=")[1];
    const header = `t=${T},v0=${"0".repeat(64)},v1=${"a".repeat(64)},v1=${good}`;
    expect(await verifyStripeSignature(bytes, header, STRIPE_WEBHOOK_SECRET, now(T))).toEqual({ ok: true });
  });

  it("checks the raw bytes: other bytes that decode to the same text do not match", async () => {
    // The signer signed the bytes; the text the official package would compare is the same for both bodies.
    const text = new TextDecoder().decode(signedBytes);
    expect(new TextDecoder().decode(forgedBytes)).toBe(text);
    const header = `t=${T},v1=${await hmacHex(STRIPE_WEBHOOK_SECRET, `${T}.`, signedBytes)}`;
    expect(await verifyStripeSignature(signedBytes, header, STRIPE_WEBHOOK_SECRET, now(T))).toEqual({ ok: true });
    expect(await verifyStripeSignature(forgedBytes, header, STRIPE_WEBHOOK_SECRET, now(T))).toEqual({
      ok: false,
      reason: "Stripe-Signature does not match the body",
    });
  });

  it.each([
    [undefined, "Stripe-Signature header is missing"],
    ["", "Stripe-Signature header is missing"],
    ["garbage", "Stripe-Signature header is malformed"],
    [`t=${T}`, "Stripe-Signature header is malformed"],
    [`v1=${"a".repeat(64)}`, "Stripe-Signature header is malformed"],
    [`t=${T},v1=${"a".repeat(64)}`, "Stripe-Signature does not match the body"],
  ])("refuses %j: %s", async (header, reason) => {
    expect(await verifyStripeSignature(bytes, header, STRIPE_WEBHOOK_SECRET, now(T))).toEqual({ ok: false, reason });
  });
});

describe("verifyStandardSignature (https://www.standardwebhooks.com/)", () => {
  const key = standardWebhookKey(PAYMENT_WEBHOOK_SECRET) as Uint8Array<ArrayBuffer>;
  const signed = (id: string, at: number, payload = body) => ({
    id,
    timestamp: String(at),
    signature: new Webhook(PAYMENT_WEBHOOK_SECRET).sign(id, now(at), payload),
  });

  it("accepts what the official package signs, with any v1 entry of several", async () => {
    const headers = signed("msg_1", T);
    expect(await verifyStandardSignature(bytes, headers, key, now(T))).toEqual({ ok: true });
    const rotated = { ...headers, signature: `v1,${btoa("nope")} v2,abc ${headers.signature}` };
    expect(await verifyStandardSignature(bytes, rotated, key, now(T))).toEqual({ ok: true });
  });

  it("checks the raw bytes: other bytes that decode to the same text do not match", async () => {
    const base64 = btoa(String.fromCharCode(...(await hmac(key, `msg_2.${T}.`, signedBytes))));
    const headers = { id: "msg_2", timestamp: String(T), signature: `v1,${base64}` };
    expect(await verifyStandardSignature(signedBytes, headers, key, now(T))).toEqual({ ok: true });
    expect(await verifyStandardSignature(forgedBytes, headers, key, now(T))).toEqual({
      ok: false,
      reason: "No matching signature found",
    });
  });

  it.each([
    ["a missing id", { id: undefined }, "Missing required headers"],
    ["a timestamp that is not a number", { timestamp: "1800000000abc" }, "Invalid Signature Headers"],
    ["a timestamp 301 s old", { timestamp: String(T - 301) }, "Message timestamp too old"],
    ["a timestamp 301 s ahead", { timestamp: String(T + 301) }, "Message timestamp too new"],
    ["another id", { id: "msg_other" }, "No matching signature found"],
    ["a signature that is not base64", { signature: "v1,***" }, "No matching signature found"],
  ])("refuses %s", async (_, change, reason) => {
    const headers = { ...signed("msg_1", T), ...change };
    expect(await verifyStandardSignature(bytes, headers, key, now(T))).toEqual({ ok: false, reason });
  });

  it("reads a whsec_ secret, and refuses one that is not base64 or is empty", () => {
    expect(standardWebhookKey(PAYMENT_WEBHOOK_SECRET)?.length).toBeGreaterThan(0);
    expect(standardWebhookKey("whsec_")).toBeUndefined();
    expect(standardWebhookKey("whsec_not base64!")).toBeUndefined();
  });
});

async function hmac(key: BufferSource, prefix: string, payload: Uint8Array): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const data = new Uint8Array([...encoder.encode(prefix), ...payload]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, data));
}

async function hmacHex(secret: string, prefix: string, payload: Uint8Array): Promise<string> {
  const mac = await hmac(encoder.encode(secret), prefix, payload);
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}
