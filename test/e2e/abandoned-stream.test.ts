import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createKey, ISOLATES_ADMIN_TOKEN, jsonHeaders, type RelayIsolates, startRelayIsolates } from "./isolates";

// A client that hangs up in the middle of a stream, over a real socket, against the built relay in workerd.
const standIn = inject("e2eRelay").openaiStandIn;
const scenario = `abandon-${Date.now().toString(36)}`;
let relays: RelayIsolates;

beforeAll(async () => {
  relays = await startRelayIsolates(1, {
    // 2,000 tokens, a millisecond or more apart: seconds of stream, if nobody stopped it.
    OPENAI_BASE_URL: `${standIn}/s/${scenario}/gen-2000/v1`,
    MAX_TOKENS: "2000",
  });
});

afterAll(async () => {
  await relays?.stop();
});

/** Streams a chat answer until `enough` of its text has arrived, then destroys the socket. */
function readThenHangUp(url: string, secret: string, enough: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: "POST", headers: jsonHeaders(secret) }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes(enough)) {
          sent.destroy();
          resolve(text);
        }
      });
      response.on("end", () => reject(new Error("the stream ended before the client hung up")));
    });
    sent.on("error", () => undefined);
    sent.end(JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hi" }], stream: true }));
  });
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("a stream the client abandons", () => {
  it("stops the upstream at once and is charged an estimate of what it produced", async () => {
    const url = relays.urls[0] as string;
    const key = await createKey(url, { name: "impatient client", monthly_token_budget: 1_000_000 });
    await readThenHangUp(`${url}/v1/chat/completions`, key.secret, 'tok20"');
    const received = await eventually(
      async () => (await (await fetch(`${standIn}/__requests/${scenario}`)).json()) as Array<{ closed_early: boolean }>,
      (list) => list[0]?.closed_early === true,
    );
    expect(received).toHaveLength(1);
    expect(received[0]?.closed_early).toBe(true);
    const day = new Date().toISOString().slice(0, 10);
    const row = await eventually(
      async () => {
        const response = await fetch(`${url}/admin/usage?from=${day}&to=${day}&group_by=subject`, {
          headers: jsonHeaders(ISOLATES_ADMIN_TOKEN),
        });
        const { rows } = (await response.json()) as { rows: Array<Record<string, number | string>> };
        return rows.find((r) => r.subject === `key:${key.id}`);
      },
      (found) => found !== undefined,
    );
    expect(row).toMatchObject({ requests: 1, estimated_requests: 1 });
    // What streamed before the hang-up, not the 2,000 tokens the request had reserved.
    expect(row?.completion_tokens).toBeGreaterThanOrEqual(20);
    expect(row?.completion_tokens).toBeLessThan(1000);
  }, 60_000);
});
