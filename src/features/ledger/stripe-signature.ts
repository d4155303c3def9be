/** Stripe's default replay window: a signature older (or newer) than this is refused. */
export const STRIPE_TOLERANCE_SECONDS = 300;

/** Why a Stripe-Signature header was refused; each maps to a 400 message. */
export type StripeSignatureResult =
  | { ok: true }
  | { ok: false; reason: "missing_header" | "malformed_header" | "stale_timestamp" | "no_matching_signature" };

const encoder = new TextEncoder();

function toHex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Verifies Stripe's `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]` over the raw body with Web Crypto
 * (https://docs.stripe.com/webhooks#verify-manually): HMAC-SHA256 of `${t}.${body}` keyed with the whole
 * endpoint secret, any v1 entry may match (secret rotation), compared in constant time; `t` must lie within
 * the tolerance of `now` in both directions.
 */
export async function verifyStripeSignature(
  body: string,
  header: string | undefined,
  secret: string,
  now: Date,
  toleranceSeconds = STRIPE_TOLERANCE_SECONDS,
): Promise<StripeSignatureResult> {
  if (!header) return { ok: false, reason: "missing_header" };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [key, value] = part.trim().split("=", 2);
    if (key === "t" && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (key === "v1" && value && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase());
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: "malformed_header" };
  if (Math.abs(Math.floor(now.getTime() / 1000) - timestamp) > toleranceSeconds) {
    return { ok: false, reason: "stale_timestamp" };
  }
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const expected = encoder.encode(toHex(await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${body}`))));
  let matched = false;
  for (const signature of signatures) {
    // Same length by construction (64 hex digits), so timingSafeEqual never throws; every entry is compared.
    if (crypto.subtle.timingSafeEqual(encoder.encode(signature), expected)) matched = true;
  }
  return matched ? { ok: true } : { ok: false, reason: "no_matching_signature" };
}
