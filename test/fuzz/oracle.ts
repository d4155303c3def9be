import { env } from "cloudflare:workers";
import { TEST_SECRETS } from "../secrets";

/**
 * The properties every fuzzed answer must have (test/integration/fuzz.test.ts): no 5xx for a request the
 * relay could judge, the one error shape on every 4xx, no secret and no stack trace in any body or header,
 * and nothing written or sent upstream for a refused request.
 */

/** What a stack trace or an internal file name looks like in a body (raw or JSON-escaped). */
const STACK_TRACE = [
  /(?:\n|\\n)\s*at [\w$.<>[\] ]+ \(/,
  /(?:\n|\\n)\s*at (?:file|node|async|https?):/,
  /\((?:file:\/\/)?[^()\s]+\.(?:ts|js|mjs):\d+:\d+\)/,
  /\b(?:Type|Range|Syntax|Reference|Eval|URI|Aggregate|Internal|Zod)?Error: /,
  /\b(?:src|node_modules|\.wrangler)\/[\w./-]+\.(?:ts|js|mjs)\b/,
];

const SNAKE_CASE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/** 402 adds the links that would grant access to the error (docs/api.md, "Private library"). */
const EXTRA_ERROR_KEYS: Record<number, readonly string[]> = { 402: ["billing_links", "store_link"] };

/**
 * The problems with one answer's status, shape, body and headers (empty when it is fine). `path` is the path
 * the request was sent to (its errors are OpenAI's when it is under /v1), `route` the route it was meant for.
 */
export function answerProblems(
  method: string,
  route: string,
  status: number,
  headers: Headers,
  text: string,
  extraSecrets: readonly string[] = [],
  errors?: "oauth" | "html",
  path = route,
): string[] {
  const problems: string[] = [];
  const isHead = method.toUpperCase() === "HEAD";

  if (status >= 500) {
    // Stripe delivers out of order: an event about a subscription the ledger does not know yet gets a 503
    // so that Stripe retries it (docs/api.md, "Payment webhooks"). Every other 5xx is a failure, since the
    // stand-ins were told to answer "ok" and everything is configured.
    const retryLater = route === "/webhooks/stripe" && status === 503 && /"code":"retry_later"/.test(text);
    if (!retryLater) problems.push(`answered ${status}`);
  }

  const contentType = headers.get("Content-Type") ?? "";
  if (status >= 400 && !isHead && errors === "html" && contentType.startsWith("text/html")) {
    // The consent page answers a person with a page: its own strict policy, nothing else to check here.
    if (!/^default-src 'none'; /.test(headers.get("Content-Security-Policy") ?? "")) {
      problems.push(`an HTML ${status} without the page's Content-Security-Policy`);
    }
  } else if (status >= 400 && !isHead && errors === "oauth" && /"error":"[a-z_]+"/.test(text)) {
    problems.push(...oauthErrorProblems(status, text));
  } else if (status >= 400 && !isHead) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      problems.push(`a ${status} whose body is not JSON`);
    }
    if (body !== undefined) problems.push(...errorShapeProblems(status, body, path));
    if (!/^application\/json\b/i.test(headers.get("Content-Type") ?? "")) {
      problems.push(`a ${status} with Content-Type ${headers.get("Content-Type")}`);
    }
  }
  if (status === 429) {
    if (!/^[1-9]\d*$/.test(headers.get("Retry-After") ?? "")) {
      problems.push(`a 429 with Retry-After ${headers.get("Retry-After")}`);
    }
  }

  const headerText = [...headers].map(([name, value]) => `${name}: ${value}`).join("\n");
  for (const secret of [...TEST_SECRETS, ...extraSecrets]) {
    if (text.includes(secret)) problems.push(`a secret in the body (${secret.slice(0, 6)}…)`);
    if (headerText.includes(secret)) problems.push(`a secret in a header (${secret.slice(0, 6)}…)`);
  }
  for (const pattern of STACK_TRACE) {
    if (pattern.test(text)) problems.push(`a stack trace or file name in the body (${pattern})`);
  }
  return problems;
}

/** RFC 6749 §5.2 / RFC 7591 §3.2.2: `{error: snake_case, error_description?: string}` and nothing else. */
function oauthErrorProblems(status: number, text: string): string[] {
  const body = JSON.parse(text) as Record<string, unknown>;
  const extra = Object.keys(body).filter((key) => key !== "error" && key !== "error_description");
  const problems = extra.length > 0 ? [`an OAuth ${status} with extra keys ${extra.join(", ")}`] : [];
  if (typeof body.error !== "string" || !SNAKE_CASE.test(body.error)) problems.push(`an OAuth ${status} without error`);
  if (body.error_description !== undefined && typeof body.error_description !== "string") {
    problems.push(`an OAuth ${status} whose error_description is not a string`);
  }
  return problems;
}

/**
 * Exactly `{success: false, error: {code: snake_case, message: string}}` (402 may add its links); under `/v1`
 * OpenAI's `{error: {message, type, param, code}}`, `param` a string or null (docs/api.md, "Conventions").
 */
export function errorShapeProblems(status: number, body: unknown, route = ""): string[] {
  if (body === null || typeof body !== "object" || Array.isArray(body))
    return [`a ${status} whose body is not an object`];
  const openai = route.startsWith("/v1/");
  const problems: string[] = [];
  const record = body as Record<string, unknown>;
  const allowed = new Set([...(openai ? [] : ["success"]), "error", ...(EXTRA_ERROR_KEYS[status] ?? [])]);
  const extra = Object.keys(record).filter((key) => !allowed.has(key));
  if (extra.length > 0) problems.push(`a ${status} with extra keys ${extra.join(", ")}`);
  if (!openai && record.success !== false) problems.push(`a ${status} without success: false`);
  const error = record.error as Record<string, unknown> | undefined;
  if (error === null || typeof error !== "object" || Array.isArray(error)) {
    problems.push(`a ${status} without an error object`);
    return problems;
  }
  const keys = Object.keys(error).sort().join(",");
  if (keys !== (openai ? "code,message,param,type" : "code,message")) {
    problems.push(`a ${status} whose error has keys ${keys}`);
  }
  if (openai && !(typeof error.type === "string" && SNAKE_CASE.test(error.type))) {
    problems.push(`a ${status} whose type is ${JSON.stringify(error.type)}`);
  }
  if (openai && !(error.param === null || typeof error.param === "string")) {
    problems.push(`a ${status} whose param is ${JSON.stringify(error.param)}`);
  }
  if (typeof error.code !== "string" || !SNAKE_CASE.test(error.code)) {
    problems.push(`a ${status} whose code is ${JSON.stringify(error.code)}`);
  }
  if (typeof error.message !== "string" || error.message === "") {
    problems.push(`a ${status} whose message is ${JSON.stringify(error.message)}`);
  }
  return problems;
}

/**
 * What storage holds, as numbers that change whenever a row is added, removed or changed: the ledger
 * (append-only events; each entitlement points at its last event), the Stripe references, and the library's
 * keys. The audit log is left out on purpose (refusals are audited), and so is `kv_imports`, which records
 * that a user's legacy KV record was looked at: a read, not a change of entitlements.
 */
export type StorageSnapshot = { rows: string; libraryKeys: string };

export async function snapshot(withLibrary: boolean): Promise<StorageSnapshot> {
  const row = await env.DB.prepare(
    `SELECT
      (SELECT COUNT(*) FROM ledger_events) || ':' || (SELECT IFNULL(MAX(id), 0) FROM ledger_events) AS events,
      (SELECT COUNT(*) || ':' || TOTAL(last_event_id) FROM entitlements) AS entitlements,
      (SELECT COUNT(*) FROM stripe_refs) AS refs`,
  ).first<Record<string, string>>();
  return { rows: JSON.stringify(row), libraryKeys: withLibrary ? await libraryKeys() : "" };
}

async function libraryKeys(): Promise<string> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.LIBRARY.list({ cursor, limit: 1000 });
    for (const object of page.objects) keys.push(`${object.key}@${object.etag}`);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys.join("\n");
}
