const encoder = new TextEncoder();

async function sha256(value: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(value));
}

/** Digests of the configured secrets, computed once per isolate rather than once per request. */
const expectedDigests = new Map<string, Promise<ArrayBuffer>>();

/**
 * Compares two secrets in constant time. Both sides are hashed first so that neither the content nor the
 * length of the expected secret leaks through timing (the same approach as hono's bearer-auth).
 */
export async function safeEqual(given: string, expected: string): Promise<boolean> {
  let expectedDigest = expectedDigests.get(expected);
  if (!expectedDigest) {
    if (expectedDigests.size > 32) expectedDigests.clear();
    expectedDigest = sha256(expected);
    expectedDigests.set(expected, expectedDigest);
  }
  const [a, b] = await Promise.all([sha256(given), expectedDigest]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/** Two digests (hex or base64 strings of a known length) compared in constant time. */
export function sameDigest(a: string, b: string): boolean {
  const [x, y] = [encoder.encode(a), encoder.encode(b)];
  return x.length === y.length && crypto.subtle.timingSafeEqual(x, y);
}

/** Hex SHA-256, used to name rate-limit buckets and hash IPs without keeping the raw value. */
export async function sha256Hex(value: string): Promise<string> {
  const bytes = new Uint8Array(await sha256(value));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const recentHashes = new Map<string, string>();

/**
 * sha256Hex of a value seen again and again (a client's IP, a relay key's secret), remembered for the
 * isolate's next requests: a digest costs more than the rest of the lookup. At most 1,000 values are kept.
 */
export async function recentSha256Hex(value: string): Promise<string> {
  const known = recentHashes.get(value);
  if (known !== undefined) return known;
  const hash = await sha256Hex(value);
  if (recentHashes.size >= 1000) recentHashes.clear();
  recentHashes.set(value, hash);
  return hash;
}
