import { env } from "cloudflare:workers";
import { importJWK, SignJWT } from "jose";
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { inject } from "vitest";
import { ADMIN_TOKEN, PAYMENT_WEBHOOK_SECRET, STRIPE_WEBHOOK_SECRET, USER_JWT_SECRET } from "../secrets";
import { relay, uniqueIp } from "./relay";

/** Headers of an admin request from one IP (JSON when a body is sent). */
export function adminHeaders(ip = uniqueIp(), token = ADMIN_TOKEN): Record<string, string> {
  return { "Content-Type": "application/json", "CF-Connecting-IP": ip, Authorization: `Bearer ${token}` };
}

/** `POST /entitlements/grant` as the admin. */
export function grant(body: Record<string, unknown>, ip = uniqueIp()): Promise<Response> {
  return relay("/entitlements/grant", { method: "POST", headers: adminHeaders(ip), body: JSON.stringify(body) });
}

type JwtOptions = { secret?: string; expiresAt?: number; audience?: string; issuer?: string; subject?: string | null };

/** An HS256 user token, valid for an hour unless told otherwise. */
export async function userJwt(sub: string, options: JwtOptions = {}): Promise<string> {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 3600);
  if (options.subject !== null) jwt.setSubject(options.subject ?? sub);
  if (options.audience) jwt.setAudience(options.audience);
  if (options.issuer) jwt.setIssuer(options.issuer);
  return jwt.sign(new TextEncoder().encode(options.secret ?? USER_JWT_SECRET));
}

/** An ES256 token signed with the JWKS stand-in's private key (the identity provider's). */
export async function providerJwt(sub: string, claims: { audience: string; issuer: string; expiresAt?: number }) {
  const key = await importJWK(inject("jwksPrivateKey"), "ES256");
  return new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: inject("jwksPrivateKey").kid })
    .setSubject(sub)
    .setAudience(claims.audience)
    .setIssuer(claims.issuer)
    .setExpirationTime(claims.expiresAt ?? Math.floor(Date.now() / 1000) + 3600)
    .sign(key);
}

/** A token with `alg: none` (RFC 7519 §6.1, an "unsecured JWT"), which must never pass. */
export function unsecuredJwt(sub: string): string {
  const part = (value: object) =>
    btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${part({ alg: "none", typ: "JWT" })}.${part({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
}

/** `Stripe-Signature` made by the official stripe package (Web Crypto provider inside workerd). */
export function stripeSignature(payload: string, options: { secret?: string; timestamp?: number } = {}) {
  return Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: options.secret ?? STRIPE_WEBHOOK_SECRET,
    timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
    cryptoProvider: Stripe.createSubtleCryptoProvider(),
  });
}

/** Posts a Stripe event, signed unless `signature` is given. */
export async function postStripe(event: object, signature?: string | null): Promise<Response> {
  const body = JSON.stringify(event);
  const headers: Record<string, string> = { "Content-Type": "application/json; charset=utf-8" };
  const header = signature === undefined ? await stripeSignature(body) : signature;
  if (header !== null) headers["Stripe-Signature"] = header;
  return relay("/webhooks/stripe", { method: "POST", headers, body });
}

/** A Stripe event envelope around `object`. */
export function stripeEvent(id: string, type: string, object: Record<string, unknown>) {
  return { id, object: "event", type, api_version: "2024-06-20", created: 1_700_000_000, data: { object } };
}

/** Standard Webhooks headers made by the official standardwebhooks package. */
export function paymentHeaders(id: string, body: string, options: { secret?: string; at?: Date } = {}) {
  const at = options.at ?? new Date();
  return {
    "Content-Type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": new Webhook(options.secret ?? PAYMENT_WEBHOOK_SECRET).sign(id, at, body),
  };
}

/** Posts a signed Standard Webhooks payment event. */
export function postPayment(id: string, event: object): Promise<Response> {
  const body = JSON.stringify(event);
  return relay("/webhooks/payment", { method: "POST", headers: paymentHeaders(id, body), body });
}

/**
 * One user's rows (the columns that matter to a test): the events, or the entitlements of one kind, in the
 * order they were first recorded.
 */
export async function rowsOf(table: "ledger_events" | "subscriptions" | "purchases", userId: string) {
  const query = {
    ledger_events:
      "SELECT type, entitlement, tier, sku, expires_at, reason, source, source_ref, source_event_id FROM ledger_events WHERE user_id = ? ORDER BY id",
    subscriptions:
      "SELECT tier, expires_at, source_ref, revoked_at, revoke_reason FROM entitlements WHERE user_id = ? AND kind = 'subscription' ORDER BY id",
    purchases:
      "SELECT sku, granted_at AS purchased_at, source_ref, revoked_at, revoke_reason FROM entitlements WHERE user_id = ? AND kind = 'purchase' ORDER BY id",
  }[table];
  const { results } = await env.DB.prepare(query).bind(userId).all();
  return results;
}

/** Audit rows about one user. */
export async function auditOf(userId: string) {
  const { results } = await env.DB.prepare(
    "SELECT actor, action, target, outcome FROM audit_log WHERE target = ? ORDER BY id",
  )
    .bind(`user:${userId}`)
    .all();
  return results;
}
