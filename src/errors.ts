import type { ContentfulStatusCode } from "hono/utils/http-status";

/** The one error body of the relay (docs/api.md, "Conventions"): `{"success": false, "error": {"code", "message"}}`. */
export type ErrorBody = { success: false; error: { code: string; message: string } };

/**
 * The error body under `/v1`, OpenAI's (https://platform.openai.com/docs/guides/error-codes): what the
 * official SDKs read into their error classes. `code` is the relay's own, `param` the field at fault.
 */
export type OpenAIErrorBody = { error: { message: string; type: string; param: string | null; code: string } };

/** Who reads an error: the relay's own clients (`relay`), or OpenAI's SDKs under `/v1` (`openai`). */
export type ErrorDialect = "relay" | "openai";

/** The dialect of a path's errors: OpenAI's everywhere under `/v1`, so that an SDK pointed there reads them right. */
export function errorDialectOf(path: string): ErrorDialect {
  return path === "/v1" || path.startsWith("/v1/") ? "openai" : "relay";
}

/** OpenAI's `type` for a status; a budget that is spent is `insufficient_quota`, as OpenAI's own. */
function openAIType(status: number, code: string): string {
  if (code === "budget_exceeded") return "insufficient_quota";
  if (status === 401) return "authentication_error";
  if (status === 402 || status === 403) return "permission_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/**
 * An error the relay answers on purpose. Its message is written for the client and must never contain a
 * secret, a prompt or an upstream's internals; anything that is not a RelayError becomes a generic 500.
 */
export class RelayError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** The request field at fault, when there is one (OpenAI's `param`). */
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** Keys the body carries beside `error` (the 402's payment links). */
  protected details(): Record<string, unknown> {
    return {};
  }

  toResponse(dialect: ErrorDialect = "relay"): Response {
    const body: ErrorBody | OpenAIErrorBody =
      dialect === "openai"
        ? {
            error: {
              message: this.message,
              type: openAIType(this.status, this.code),
              param: this.param,
              code: this.code,
            },
          }
        : { success: false, error: { code: this.code, message: this.message } };
    return new Response(JSON.stringify({ ...body, ...this.details() }), {
      status: this.status,
      headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ...this.headers },
    });
  }
}

/** 400 for a body or query that fails validation; the message names the field, and so does `param`. */
export class InvalidRequest extends RelayError {
  constructor(message: string, code = "invalid_request", param: string | null = null) {
    super(400, code, message, {}, param);
  }
}

export class Unauthorized extends RelayError {
  constructor(message = "Missing or invalid credentials") {
    super(401, "unauthorized", message, { "WWW-Authenticate": 'Bearer realm="relay"' });
  }
}

export class Forbidden extends RelayError {
  constructor(message: string, code = "forbidden") {
    super(403, code, message);
  }
}

export class NotFound extends RelayError {
  constructor(message = "No such route", code = "not_found", param: string | null = null) {
    super(404, code, message, {}, param);
  }
}

export class MethodNotAllowed extends RelayError {
  constructor(allowed: string[]) {
    super(405, "method_not_allowed", `This route accepts ${allowed.join(", ")}`, { Allow: allowed.join(", ") });
  }
}

/** 409: the request conflicts with one still in progress (the same Idempotency-Key, sent twice at once). */
export class Conflict extends RelayError {
  constructor(message: string, code = "conflict") {
    super(409, code, message);
  }
}

/** 422: well-formed, but it contradicts what the relay already holds (an Idempotency-Key used for another request). */
export class UnprocessableContent extends RelayError {
  constructor(message: string, code = "unprocessable_content") {
    super(422, code, message);
  }
}

export class PayloadTooLarge extends RelayError {
  constructor(maxBytes: number) {
    super(413, "payload_too_large", `Request body is larger than ${maxBytes} bytes`);
  }
}

export class UnsupportedMediaType extends RelayError {
  constructor(expected = "application/json") {
    super(415, "unsupported_media_type", `Content-Type must be ${expected}`);
  }
}

export class RateLimited extends RelayError {
  /**
   * @param firstInWindow whether this is the bucket's first refusal of its window: only that one is audited,
   * so a flood of refused requests cannot flood the audit log.
   */
  constructor(
    retryAfterSeconds: number,
    headers: Record<string, string>,
    readonly firstInWindow = true,
  ) {
    super(429, "rate_limited", `Too many requests; retry in ${retryAfterSeconds} s`, {
      ...headers,
      "Retry-After": String(retryAfterSeconds),
    });
  }
}

export class UpstreamUnreachable extends RelayError {
  /** @param transient false when asking again cannot help (a redirect the relay never follows). */
  constructor(
    upstream: string,
    detail = "could not be reached",
    readonly transient = true,
  ) {
    super(502, "upstream_unreachable", `${upstream} ${detail}`);
  }
}

export class UpstreamTimeout extends RelayError {
  constructor(upstream: string, timeoutMs: number, what = "did not answer within") {
    super(504, "upstream_timeout", `${upstream} ${what} ${timeoutMs} ms`);
  }
}

/** 429 because the subject's monthly budget cannot cover the request's worst case; it resets at `resetAt`. */
export class BudgetExceeded extends RelayError {
  constructor(resetAt: number, now: number) {
    const iso = new Date(resetAt).toISOString();
    super(429, "budget_exceeded", `The monthly budget cannot cover this request; it resets at ${iso}`, {
      "Retry-After": String(Math.max(1, Math.ceil((resetAt - now) / 1000))),
    });
  }
}

/** 429 because an upstream (GitHub) is rate limiting the relay; `Retry-After` says when to try again. */
export class UpstreamRateLimited extends RelayError {
  constructor(
    upstream: string,
    readonly retryAfterSeconds: number,
  ) {
    super(429, "upstream_rate_limited", `${upstream} is rate limiting the relay; retry in ${retryAfterSeconds} s`, {
      "Retry-After": String(retryAfterSeconds),
    });
  }
}

/** 502 for an upstream's error answer; the message is the upstream's own, with no secret in it. */
export class UpstreamFailed extends RelayError {
  constructor(upstream: string, status: number, upstreamMessage: string) {
    super(502, "upstream_error", `${upstream} answered ${status}: ${upstreamMessage}`);
  }
}

/**
 * 503 for a webhook the relay cannot apply yet because it refers to something not recorded (a Stripe
 * subscription whose checkout has not arrived): the sender retries later, and deliveries may come out of order.
 */
export class RetryLater extends RelayError {
  constructor(message: string, retryAfterSeconds = 60) {
    super(503, "retry_later", message, { "Retry-After": String(retryAfterSeconds) });
  }
}

/** 402 for a caller who may not read something; `links` (the payment links that would help) join the body. */
export class PaymentRequired extends RelayError {
  constructor(
    message: string,
    readonly links: Record<string, unknown>,
  ) {
    super(402, "payment_required", message);
  }

  protected override details(): Record<string, unknown> {
    return this.links;
  }
}

/** 411: a streamed upload must say its size up front (R2 stores only bodies of known length). */
export class LengthRequired extends RelayError {
  constructor() {
    super(411, "length_required", "Content-Length is required");
  }
}

/** 412 for a failed `If-Match` or `If-Unmodified-Since` (RFC 9110 §13.1.1, §13.1.4). */
export class PreconditionFailed extends RelayError {
  constructor() {
    super(412, "precondition_failed", "The item does not match If-Match or If-Unmodified-Since");
  }
}

/** 416 with `Content-Range: bytes *\/size` (RFC 9110 §15.5.17). */
export class RangeNotSatisfiable extends RelayError {
  constructor(size: number) {
    super(416, "range_not_satisfiable", `The Range header does not fit the item's ${size} bytes`, {
      "Content-Range": `bytes */${size}`,
    });
  }
}

/** 503 naming the missing or malformed variable, never its value. */
export class NotConfigured extends RelayError {
  constructor(variable: string, problem = "is not set") {
    super(503, "not_configured", `The relay is not configured: ${variable} ${problem}`);
  }
}

export class InternalError extends RelayError {
  constructor() {
    super(500, "internal_error", "Internal error");
  }
}
