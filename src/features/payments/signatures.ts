/**
 * Payment webhook signatures, verified over the raw bytes of the body as the senders sign them
 * (`hmacSha256Matches`). Stripe's and Standard Webhooks' own packages verify decoded text, which maps
 * different byte strings (invalid UTF-8) to the same text; so only the headers are parsed here, and the tests
 * sign with the official packages.
 */
import { fromBase64, fromHex, hmacSha256Matches } from "../../lib/hmac";

/** The replay window of both schemes: a timestamp further than this from now (either way) is refused. */
export const TOLERANCE_SECONDS = 300;

/** The verdict on a signature; each refusal has the message the 400 answer shows. */
export type SignatureResult = { ok: true } | { ok: false; reason: string };

function withinTolerance(timestamp: number, now: Date): boolean {
  return Math.abs(Math.floor(now.getTime() / 1000) - timestamp) <= TOLERANCE_SECONDS;
}

/**
 * Stripe's `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]` (https://docs.stripe.com/webhooks#verify-manually):
 * HMAC-SHA256 of `${t}.` + body keyed with the whole endpoint secret; any v1 entry may match (secret
 * rotation); `t` within the tolerance of `now`.
 */
export async function verifyStripeSignature(
  body: Uint8Array,
  header: string | undefined,
  secret: string,
  now: Date,
): Promise<SignatureResult> {
  if (!header) return { ok: false, reason: "Stripe-Signature header is missing" };
  let timestamp: number | undefined;
  const signatures: Uint8Array<ArrayBuffer>[] = [];
  for (const part of header.split(",")) {
    const [key, value] = part.trim().split("=", 2);
    if (key === "t" && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (key === "v1" && value && /^[0-9a-f]{64}$/i.test(value)) signatures.push(fromHex(value));
  }
  if (timestamp === undefined || signatures.length === 0) {
    return { ok: false, reason: "Stripe-Signature header is malformed" };
  }
  if (!withinTolerance(timestamp, now)) {
    return { ok: false, reason: `Stripe-Signature timestamp is outside the ${TOLERANCE_SECONDS} s tolerance` };
  }
  const matched = await hmacSha256Matches(secret, signatures, { prefix: `${timestamp}.`, body });
  return matched ? { ok: true } : { ok: false, reason: "Stripe-Signature does not match the body" };
}

/** The three headers of a Standard Webhooks delivery. */
export type StandardHeaders = { id?: string; timestamp?: string; signature?: string };

/**
 * Standard Webhooks (https://www.standardwebhooks.com/, "Verifying webhooks"): HMAC-SHA256 of
 * `${webhook-id}.${webhook-timestamp}.` + body; `webhook-signature` lists space-separated `v1,<base64>`
 * entries, any of which may match; the timestamp lies within the tolerance of `now`. The refusal messages
 * are the official package's.
 */
export async function verifyStandardSignature(
  body: Uint8Array,
  headers: StandardHeaders,
  key: Uint8Array<ArrayBuffer>,
  now: Date,
): Promise<SignatureResult> {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return { ok: false, reason: "Missing required headers" };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "Invalid Signature Headers" };
  const seconds = Number(timestamp);
  if (!withinTolerance(seconds, now)) {
    const tooOld = seconds < now.getTime() / 1000;
    return { ok: false, reason: tooOld ? "Message timestamp too old" : "Message timestamp too new" };
  }
  const signatures = signature.split(" ").flatMap((entry) => {
    const [version, value] = entry.split(",", 2);
    if (version !== "v1" || !value) return [];
    try {
      return [fromBase64(value)];
    } catch {
      return [];
    }
  });
  const matched = await hmacSha256Matches(key, signatures, { prefix: `${id}.${seconds}.`, body });
  return matched ? { ok: true } : { ok: false, reason: "No matching signature found" };
}
