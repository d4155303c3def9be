/**
 * The rate-limit headers of an answer, in the two forms clients read: the IETF draft's `RateLimit-Policy` and
 * `RateLimit` (draft-ietf-httpapi-ratelimit-headers), and OpenAI's `x-ratelimit-*` (what the OpenAI SDKs and
 * the tools built on them look at, https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers).
 */

/** A duration as OpenAI writes its resets: `20ms`, `6s`, `1m0.5s`, `628h10m5s`. */
export function openAIDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = (total % 60_000) / 1000;
  const head = hours > 0 ? `${hours}h${minutes}m` : minutes > 0 ? `${minutes}m` : "";
  return `${head}${Number(seconds.toFixed(3))}s`;
}

/** A limit of `limit` requests per `windowSeconds`, `remaining` of them left, whole again in `resetMs`. */
export function requestLimitHeaders(
  scope: string,
  limit: number,
  remaining: number,
  resetMs: number,
  windowSeconds = 60,
): Record<string, string> {
  return {
    "RateLimit-Policy": `"${scope}";q=${limit};w=${windowSeconds}`,
    RateLimit: `"${scope}";r=${remaining};t=${Math.ceil(resetMs / 1000)}`,
    "x-ratelimit-limit-requests": String(limit),
    "x-ratelimit-remaining-requests": String(remaining),
    "x-ratelimit-reset-requests": openAIDuration(resetMs),
  };
}

/** A monthly token budget of `limit`, `remaining` of it left, reset in `resetMs` (OpenAI's token trio). */
export function tokenLimitHeaders(limit: number, remaining: number, resetMs: number): Record<string, string> {
  return {
    "x-ratelimit-limit-tokens": String(limit),
    "x-ratelimit-remaining-tokens": String(remaining),
    "x-ratelimit-reset-tokens": openAIDuration(resetMs),
  };
}
