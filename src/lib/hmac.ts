/**
 * HMAC-SHA256 signatures of webhooks, checked over the raw bytes of the body as the sender signed them: a
 * check over decoded text maps different byte strings (invalid UTF-8) to the same text. Web Crypto's
 * `verify` compares in constant time.
 */

const encoder = new TextEncoder();

/** The bytes of a hex string of even length (the caller has checked its form). */
export function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

/** What is signed: the raw body, after a text prefix when the scheme signs one (`${timestamp}.`). */
export type Signed = { prefix?: string; body: Uint8Array };

function signedBytes({ prefix = "", body }: Signed): Uint8Array<ArrayBuffer> {
  const head = encoder.encode(prefix);
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(head);
  bytes.set(body, head.length);
  return bytes;
}

/**
 * Whether any of `signatures` is the HMAC-SHA256 of `signed` keyed with `secret` (its UTF-8 bytes when a
 * string). Every candidate is checked, so the time does not tell which one matched; none is no match.
 */
export async function hmacSha256Matches(
  secret: string | Uint8Array<ArrayBuffer>,
  signatures: Uint8Array<ArrayBuffer>[],
  signed: Signed,
): Promise<boolean> {
  const keyBytes = typeof secret === "string" ? encoder.encode(secret) : secret;
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const data = signedBytes(signed);
  let matched = false;
  for (const signature of signatures) {
    if (await crypto.subtle.verify("HMAC", key, signature, data)) matched = true;
  }
  return matched;
}

/** Strict base64 (atob throws on anything else). */
export function fromBase64(base64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

/** A Standard Webhooks secret's key bytes (`whsec_` + base64), or undefined when it is not one. */
export function standardWebhookKey(secret: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const key = fromBase64(secret.replace(/^whsec_/, ""));
    return key.length > 0 ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Standard Webhooks signature of a delivery (https://www.standardwebhooks.com/, "Signing webhooks"):
 * `v1,` and the base64 HMAC-SHA256 of `${id}.${timestamp}.${body}`, keyed with the secret's key bytes.
 */
export async function standardWebhookSignature(
  key: Uint8Array<ArrayBuffer>,
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const hmacKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", hmacKey, encoder.encode(`${id}.${timestamp}.${body}`));
  return `v1,${btoa(String.fromCharCode(...new Uint8Array(mac)))}`;
}
