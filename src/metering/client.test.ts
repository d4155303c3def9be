import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventually } from "../../test/support/keys";
import { uniqueId } from "../../test/support/relay";
import { admit, forgetLease, type MeterAccess } from "./client";
import type { Demand } from "./demand";
import type { Limits } from "./state";

/** The subject's real Meter, with its calls counted, and the background work the admissions leave. */
function meterWithCalls(subject: string) {
  const stub = env.METER.getByName(subject);
  const calls = { acquire: 0, report: 0 };
  const background: Promise<unknown>[] = [];
  const access: MeterAccess = {
    meter: () =>
      ({
        acquire: (request: Parameters<typeof stub.acquire>[0]) => {
          calls.acquire += 1;
          return stub.acquire(request);
        },
        report: (...args: Parameters<typeof stub.report>) => {
          calls.report += 1;
          return stub.report(...args);
        },
      }) as unknown as ReturnType<MeterAccess["meter"]>,
    waitUntil: (promise) => background.push(promise),
  };
  return { stub, calls, access, background };
}

/** Whether a promise settles within a few microtasks, that is, without waiting for any I/O. */
async function settlesAtOnce(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return settled;
}

const used = { model: "gpt-4o-mini", promptTokens: 1, completionTokens: 1, micros: 0, priced: true, estimated: false };
/** A request that reserves 10 tokens (a prompt of 10, no answer to cap). */
const need: Demand = { prompt: { tokens: 10, micros: 0 }, perToken: { tokens: 0, micros: 0 }, want: 0, least: 0 };
// 600 a minute: a lease holds a second's worth, 10 requests.
const limits: Limits = { perMinute: 600, budget: { tokens: 1_000_000 }, queueMs: 0 };

describe("the isolate's leases", () => {
  it("serves a steady stream without waiting for the Meter: the next lease is asked for before it is needed", async () => {
    const subject = uniqueId("client");
    const { calls, access } = meterWithCalls(subject);
    (await admit(subject, need, limits, access)).settle(used);
    expect(calls.acquire).toBe(1);
    let waited = 0;
    for (let i = 0; i < 29; i++) {
      const admission = admit(subject, need, limits, access);
      if (!(await settlesAtOnce(admission))) waited += 1;
      (await admission).settle(used);
      // Let a lease asked for in the background arrive, as the time between two requests would.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(waited).toBe(0);
    // 30 requests, 10 to a lease: three leases served them, and a fourth is ready for the next ones.
    expect(calls.acquire).toBe(4);
  });

  it("sends a finished lease's report with the next call while another lease is open, and alone once traffic stops", async () => {
    const subject = uniqueId("client");
    const { stub, calls, access, background } = meterWithCalls(subject);
    // 1.5 s of requests, 50 ms apart: the first lease ends (after 1 s) while its successor is open.
    for (let i = 0; i < 30; i++) {
      (await admit(subject, need, limits, access)).settle(used);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(calls.report).toBe(0);
    await Promise.all(background);
    expect(calls.report).toBe(1);
    const meter = await stub.snapshot();
    expect(meter?.committed.tokens).toBe(60);
    expect(meter?.reserved.tokens).toBe(0);
  });

  it("meets a burst on a subject without a lease with one Meter call: the others wait for its lease", async () => {
    const subject = uniqueId("client");
    const { calls, access } = meterWithCalls(subject);
    const burst = await Promise.all(
      Array.from({ length: 10 }, () => admit(subject, need, { ...limits, perMinute: 6000 }, access)),
    );
    for (const admission of burst) admission.settle(used);
    expect(calls.acquire).toBe(1);
  });

  it("closes a revoked key's leases at once; what they used still reaches the Meter", async () => {
    const subject = uniqueId("client");
    const { stub, calls, access, background } = meterWithCalls(subject);
    (await admit(subject, need, limits, access)).settle(used);
    forgetLease(subject);
    (await admit(subject, need, limits, access)).settle(used);
    expect(calls.acquire).toBe(2);
    await Promise.all(background);
    await eventually(async () => expect((await stub.snapshot())?.committed.tokens).toBe(4));
  });
});
