/**
 * GitHub's webhook signature (GitHub docs, "Validating webhook deliveries"): `X-Hub-Signature-256:
 * sha256=<hex>`, the HMAC-SHA256 of the raw body keyed with the webhook's secret. Checked over the bytes as
 * they arrived, with Web Crypto's `verify` (constant time), before anything reads the body.
 */

/** The verdict; each refusal has the message the 400 answer shows. */
export type GitHubSignatureResult = { ok: true } | { ok: false; reason: string };

const HEADER = /^sha256=([0-9a-f]{64})$/i;
const encoder = new TextEncoder();

export async function verifyGitHubSignature(
  body: Uint8Array<ArrayBuffer>,
  header: string | undefined,
  secret: string,
): Promise<GitHubSignatureResult> {
  if (header === undefined) return { ok: false, reason: "X-Hub-Signature-256 is missing" };
  const hex = HEADER.exec(header.trim())?.[1];
  if (hex === undefined) return { ok: false, reason: "X-Hub-Signature-256 must be sha256= and 64 hex digits" };
  const signature = Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "verify",
  ]);
  const valid = await crypto.subtle.verify("HMAC", key, signature, body);
  return valid ? { ok: true } : { ok: false, reason: "X-Hub-Signature-256 does not match the body" };
}
