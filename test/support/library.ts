import { expect } from "vitest";
import { ADMIN_TOKEN } from "../secrets";
import { grant, userJwt } from "./ledger";
import { relay, uniqueId, uniqueIp } from "./relay";

/** An expiry far away: the subscription stays active for the whole run. */
export const FAR = "2099-01-01T00:00:00.000Z";

/** `PUT /admin/library/{path}` as the admin; `path` is used as given (already encoded). */
export function upload(path: string, body: BodyInit | null, headers: Record<string, string> = {}): Promise<Response> {
  return relay(`/admin/library/${path}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "CF-Connecting-IP": uniqueIp(), ...headers },
    body,
    ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);
}

/** Uploads a small text item and checks that it was stored. */
export async function stored(path: string, text: string, headers: Record<string, string>): Promise<void> {
  const response = await upload(path, text, {
    "Content-Type": "text/plain",
    "Content-Length": String(new TextEncoder().encode(text).length),
    ...headers,
  });
  expect(response.status).toBe(200);
}

/** `GET /library/{path}` (or `/library`) as `user` (no token when undefined), from a fresh IP. */
export async function read(path: string, user?: string, headers: Record<string, string> = {}): Promise<Response> {
  const all: Record<string, string> = { "CF-Connecting-IP": uniqueIp(), ...headers };
  if (user !== undefined) all.Authorization = `Bearer ${await userJwt(user)}`;
  return relay(path, { headers: all });
}

/** A new user holding what `grants` give (`POST /entitlements/grant` bodies without user_id). */
export async function userWith(...grants: Array<Record<string, unknown>>): Promise<string> {
  const user = uniqueId("reader");
  for (const body of grants) expect((await grant({ user_id: user, ...body })).status).toBe(200);
  return user;
}

/** `POST /entitlements/revoke` as the admin. */
export async function revoke(body: Record<string, unknown>): Promise<void> {
  const response = await relay("/entitlements/revoke", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Authorization: `Bearer ${ADMIN_TOKEN}`,
      "CF-Connecting-IP": uniqueIp(),
    },
    body: JSON.stringify({ reason: "refund", ...body }),
  });
  expect(response.status).toBe(200);
}

/** The exact 402 body for `user`: every tier's link, and the store link when the item has a SKU. */
export function paymentRequiredBody(user: string, sku?: "EBOOK" | "my-course") {
  const ref = `client_reference_id=${user}`;
  return {
    success: false,
    error: {
      code: "payment_required",
      message:
        sku === undefined
          ? "An active subscription is required to read this item"
          : `An active subscription or the purchase of ${sku} is required to read this item`,
    },
    billing_links: [
      { tier: "monthly", payment_link: `https://pay.test/monthly?${ref}` },
      { tier: "quarterly", payment_link: `https://pay.test/quarterly?plan=q&${ref}` },
      { tier: "yearly", payment_link: `https://pay.test/yearly?${ref}` },
    ],
    store_link:
      sku === undefined ? null : { sku, payment_link: `https://pay.test/${sku === "EBOOK" ? "ebook" : sku}?${ref}` },
  };
}
