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
  return postWith("/v1/chat/completions", credential, body, vars, headers);
}

/** POSTs a JSON request to `path` with a credential, from a fresh IP unless told otherwise. */
export function postWith(
  path: string,
  credential: string,
  body: unknown,
  vars?: Record<string, string | undefined>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return relay(
    path,
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

/** `GET /admin/usage` rows for `query`. */
export async function usageRows(query: string): Promise<Array<Record<string, unknown>>> {
  const response = await relay(`/admin/usage?${query}`, {
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "CF-Connecting-IP": uniqueIp() },
  });
  return ((await response.json()) as { rows: Array<Record<string, unknown>> }).rows;
}

/** `from` and `to` around now: a request made now is in the span, whatever the day (and at midnight). */
export function aroundNow(): string {
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  return `from=${day(-1)}&to=${day(1)}`;
}

/** A subject's usage row of the days around now. */
export async function usageRowOf(subject: string): Promise<Record<string, unknown> | undefined> {
  return (await usageRows(`${aroundNow()}&group_by=subject`)).find((row) => row.subject === subject);
}

/** Waits until a subject's usage row of the days around now has these values (usage reaches D1 on timers). */
export async function expectUsageRow(subject: string, expected: Record<string, unknown>): Promise<void> {
  await eventually(async () => expect(await usageRowOf(subject)).toMatchObject(expected));
}
