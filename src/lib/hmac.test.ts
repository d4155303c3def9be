import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { fromHex, hmacSha256Matches, standardWebhookKey, standardWebhookSignature } from "./hmac";

const text = (value: string) => new TextEncoder().encode(value);

// RFC 4231, section 4.3 (test case 2) and 4.2 (test case 1): HMAC-SHA-256 of known keys and data.
const JEFE = fromHex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
const HI_THERE = fromHex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

describe("hmacSha256Matches", () => {
  it("matches RFC 4231's HMAC-SHA-256 test vectors, keyed by a string or by bytes", async () => {
    expect(await hmacSha256Matches("Jefe", [JEFE], { body: text("what do ya want for nothing?") })).toBe(true);
    const key = new Uint8Array(20).fill(0x0b);
    expect(await hmacSha256Matches(key, [HI_THERE], { body: text("Hi There") })).toBe(true);
  });

  it("signs the prefix and the body as one byte string", async () => {
    expect(await hmacSha256Matches("Jefe", [JEFE], { prefix: "what do ya ", body: text("want for nothing?") })).toBe(
      true,
    );
    expect(await hmacSha256Matches("Jefe", [JEFE], { prefix: "what do ya", body: text("want for nothing?") })).toBe(
      false,
    );
  });

  it("refuses another key, another body and a signature cut short", async () => {
    const body = text("what do ya want for nothing?");
    expect(await hmacSha256Matches("jefe", [JEFE], { body })).toBe(false);
    expect(await hmacSha256Matches("Jefe", [JEFE], { body: text("what do ya want for nothing!") })).toBe(false);
    expect(await hmacSha256Matches("Jefe", [JEFE.slice(0, 31)], { body })).toBe(false);
    expect(await hmacSha256Matches("Jefe", [], { body })).toBe(false);
  });

  it("accepts when any of several signatures matches, wherever it stands", async () => {
    const body = text("what do ya want for nothing?");
    expect(await hmacSha256Matches("Jefe", [HI_THERE, JEFE], { body })).toBe(true);
    expect(await hmacSha256Matches("Jefe", [JEFE, HI_THERE], { body })).toBe(true);
    expect(await hmacSha256Matches("Jefe", [HI_THERE, HI_THERE], { body })).toBe(false);
  });

  it("checks the raw bytes: two bodies that decode to the same text are different bodies", async () => {
    const [a, b] = [Uint8Array.of(0x7b, 0xff, 0x7d), Uint8Array.of(0x7b, 0xfe, 0x7d)];
    expect(new TextDecoder().decode(a)).toBe(new TextDecoder().decode(b));
    const key = await crypto.subtle.importKey("raw", text("k"), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, a));
    expect(await hmacSha256Matches("k", [signature], { body: a })).toBe(true);
    expect(await hmacSha256Matches("k", [signature], { body: b })).toBe(false);
  });
});

describe("fromHex", () => {
  it("reads hex digits of either case into bytes", () => {
    expect(fromHex("00ff7F")).toEqual(Uint8Array.of(0, 255, 127));
    expect(fromHex("")).toEqual(new Uint8Array(0));
  });
});

describe('standardWebhookSignature (https://www.standardwebhooks.com/, "Signing webhooks")', () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

  it("signs a delivery so that the official standardwebhooks package verifies it", async () => {
    const key = standardWebhookKey(secret) as Uint8Array<ArrayBuffer>;
    const timestamp = Math.floor(Date.now() / 1000);
    const body = '{"type":"budget.threshold_reached","data":{"emoji":"✓"}}';
    const signature = await standardWebhookSignature(key, "msg_1", timestamp, body);
    expect(signature).toBe(new Webhook(secret).sign("msg_1", new Date(timestamp * 1000), body));
    const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(timestamp), "webhook-signature": signature };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("has no key for a secret that is not base64", () => {
    expect(standardWebhookKey("whsec_not base64!")).toBeUndefined();
    expect(standardWebhookKey("whsec_")).toBeUndefined();
  });
});
