import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect, inject, vi } from "vitest";
import worker from "../../src/index";
import { RELAY_SECRET } from "../secrets";

export const ORIGIN = "http://relay.test";

let counter = 0;
/** A unique id per call, so tests running at once never share a bucket or a stand-in scenario. */
export function uniqueId(prefix = "t"): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A unique client IP: each test gets its own rate-limit buckets. */
export function uniqueIp(): string {
  const n = Math.floor(Math.random() * 2 ** 24);
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** A scenario on the OpenAI stand-in: the base URL to give the relay and what the stand-in received. */
export function openaiScenario(behaviour: string) {
  const id = uniqueId("openai");
  const standIn = inject("openaiStandIn");
  return {
    baseUrl: `${standIn}/s/${id}/${behaviour}/v1`,
    async received(): Promise<
      Array<{
        headers: Record<string, string>;
        body: Record<string, unknown>;
        path: string;
        chunks_sent: number;
        closed_early: boolean;
      }>
    > {
      return (await fetch(`${standIn}/__requests/${id}`)).json();
    },
  };
}

/**
 * Sends a request through the Worker's front door. With `vars`, the Worker sees the test's env with those
 * variables replaced (the way an operator's wrangler.jsonc or secrets would differ).
 */
export async function relay(
  path: string,
  init: RequestInit = {},
  vars?: Record<string, string | undefined>,
): Promise<Response> {
  const request = new Request(`https://relay.test${path}`, init);
  if (!vars) return exports.default.fetch(request);
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, { ...env, ...vars } as Env, ctx);
  // Like the front door, the answer does not wait for the work the Worker left running (usage reports wait
  // for their lease to end, about a second); tests that look at its results use `eventually`.
  waitOnExecutionContext(ctx).catch((error: unknown) => console.error("waitUntil failed", error));
  return response;
}

/**
 * Runs `run` with the clock of the test and of the Worker (they share one isolate) set to `at`, so that a
 * test of dates never depends on the day the suite runs. Only `Date` is faked: timers run in real time, and
 * the clock stands still until `run` ends.
 */
export async function atClock<T>(at: string, run: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(new Date(at));
  try {
    return await run();
  } finally {
    vi.useRealTimers();
  }
}

/** Headers of an authenticated JSON POST from one client IP. */
export function jsonHeaders(ip: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    "Content-Type": "application/json",
    "CF-Connecting-IP": ip,
    Authorization: `Bearer ${RELAY_SECRET}`,
    ...extra,
  };
}

/** Captures everything the Worker logs while `run` executes (the Worker shares the test's isolate). */
export async function captureLogs<T>(run: () => Promise<T>): Promise<{ result: T; logs: string }> {
  const lines: string[] = [];
  const spies = (["log", "info", "warn", "error", "debug"] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" "));
    }),
  );
  try {
    const result = await run();
    return { result, logs: lines.join("\n") };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

/** The one error shape (docs/api.md, "Conventions"): with a code, and the exact message when the test cares about it. */
export function errorBody(code: string, message?: string) {
  return { success: false, error: { code, message: message ?? (expect.any(String) as unknown as string) } };
}

/**
 * The error shape under `/v1` (OpenAI's, docs/api.md "Conventions"): the relay's code, and the exact message,
 * `param` and `type` when the test cares about them (else any string, any string or null, any string).
 */
export function openaiError(code: string, message?: string, param?: string | null, type?: string) {
  const any = expect.any(String) as unknown as string;
  return {
    error: {
      message: message ?? any,
      type: type ?? any,
      param: param === undefined ? (expect.toBeOneOf([any, null]) as unknown as string | null) : param,
      code,
    },
  };
}

/** The error shape of a path: OpenAI's under `/v1`, the relay's elsewhere. */
export function errorAt(path: string, code: string, message?: string) {
  return path.startsWith("/v1/") ? openaiError(code, message) : errorBody(code, message);
}

/** What the GitHub stand-in recorded for one request (see test/stand-ins/github.ts). */
export type GitHubRequest = {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
};

/** A scenario on the GitHub stand-in: the GITHUB_API_URL to give the relay and what the stand-in received. */
export function githubScenario(behaviour = "ok", id = uniqueId("github")) {
  const standIn = inject("githubStandIn");
  return {
    id,
    apiUrl: `${standIn}/s/${id}/${behaviour}`,
    async received(): Promise<GitHubRequest[]> {
      return (await fetch(`${standIn}/__requests/${id}`)).json();
    },
  };
}

/** The audit rows one request wrote (D1 `audit_log`, matched by its X-Request-Id). */
export async function auditRowsOf(response: Response) {
  const requestId = response.headers.get("X-Request-Id");
  const { results } = await env.DB.prepare(
    "SELECT actor, action, target, outcome, dry_run FROM audit_log WHERE request_id = ? ORDER BY id",
  )
    .bind(requestId)
    .all();
  return results;
}
