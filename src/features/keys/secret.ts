import { recentSha256Hex } from "../../lib/constant-time";

/** A relay key's id (`key_` + 16 hex digits) and its secret (`smr_<id digits>_<43 base64url>`), shown once. */
export type NewKey = { id: string; secret: string };

const SECRET = /^smr_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** A fresh key: 64 random bits of id, 256 random bits of secret. */
export function newKey(): NewKey {
  const digits = hex(crypto.getRandomValues(new Uint8Array(8)));
  return { id: `key_${digits}`, secret: `smr_${digits}_${base64url(crypto.getRandomValues(new Uint8Array(32)))}` };
}

/** True when a presented token has the shape of a relay key secret. */
export function looksLikeKey(token: string): boolean {
  return token.startsWith("smr_");
}

/** The key id a secret names, or undefined when it is not a well-formed secret. */
export function keyIdOf(secret: string): string | undefined {
  const match = SECRET.exec(secret);
  return match ? `key_${match[1]}` : undefined;
}

/** What the relay stores of a secret: its SHA-256, hex. */
export function hashSecret(secret: string): Promise<string> {
  return recentSha256Hex(secret);
}
