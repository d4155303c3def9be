import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { MeterState } from "../../src/metering/state";
import { ADMIN_TOKEN } from "../secrets";
import { relay, uniqueId, uniqueIp } from "./relay";

/** A relay key as `POST /admin/keys` answers it. */
export type CreatedKey = { id: string; secret: string; key: Record<string, unknown> };

/** Creates a relay key (`name` made unique unless given) and returns it with its one-time secret. */
export async function createKey(body: Record<string, unknown> = {}): Promise<CreatedKey> {
  const response = await relay("/admin/keys", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Authorization: `Bearer ${ADMIN_TOKEN}`,
      "CF-Connecting-IP": uniqueIp(),
    },
    body: JSON.stringify({ name: uniqueId("key"), ...body }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  const json = (await response.json()) as { key: Record<string, unknown> & { id: string }; secret: string };
  return { id: json.key.id, secret: json.secret, key: json.key };
}

/** POSTs a chat request with a credential, from a fresh IP unless told otherwise. */
export function chatWith(
  credential: string,
  body: unknown,
  vars?: Record<string, string | undefined>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return relay(
    "/v1/chat/completions",
    {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${credential}`,
        "CF-Connecting-IP": uniqueIp(),
        ...headers,
      },
      body: JSON.stringify(body),
    },
    vars,
  );
}

/** What a subject's Meter holds now (its Durable Object's stored state). */
export async function meterOf(subject: string): Promise<MeterState | undefined> {
  return env.METER.getByName(subject).snapshot();
}

/**
 * Waits until `check` passes (reports and usage reach the Meter and D1 on timers of about a second). The
 * deadline only ends a wait that would never succeed: it leaves room for a machine busy with other work.
 */
export async function eventually(check: () => Promise<void>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
