/**
 * GitHub's webhook signature (GitHub docs, "Validating webhook deliveries"): `X-Hub-Signature-256:
 * sha256=<hex>`, the HMAC-SHA256 of the raw body keyed with the webhook's secret. Checked over the bytes as
 * they arrived (`hmacSha256Matches`, constant time), before anything reads the body.
 */
import { fromHex, hmacSha256Matches } from "../../lib/hmac";

/** The verdict; each refusal has the message the 400 answer shows. */
export type GitHubSignatureResult = { ok: true } | { ok: false; reason: string };

const HEADER = /^sha256=([0-9a-f]{64})$/i;

export async function verifyGitHubSignature(
  body: Uint8Array<ArrayBuffer>,
  header: string | undefined,
  secret: string,
): Promise<GitHubSignatureResult> {
  if (header === undefined) return { ok: false, reason: "X-Hub-Signature-256 is missing" };
  const hex = HEADER.exec(header.trim())?.[1];
  if (hex === undefined) return { ok: false, reason: "X-Hub-Signature-256 must be sha256= and 64 hex digits" };
  const valid = await hmacSha256Matches(secret, [fromHex(hex)], { body });
  return valid ? { ok: true } : { ok: false, reason: "X-Hub-Signature-256 does not match the body" };
}
