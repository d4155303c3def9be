import type { ContentfulStatusCode } from "hono/utils/http-status";

/** The one error body of DESIGN.md: `{"success": false, "error": {"code", "message"}}`. */
export type ErrorBody = { success: false; error: { code: string; message: string } };

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
  ) {
    super(message);
    this.name = new.target.name;
  }

  toResponse(): Response {
    const body: ErrorBody = { success: false, error: { code: this.code, message: this.message } };
    return new Response(JSON.stringify(body), {
      status: this.status,
      headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ...this.headers },
    });
  }
}

/** 400 for a body or query that fails validation; the message names the field. */
export class InvalidRequest extends RelayError {
  constructor(message: string, code = "invalid_request") {
    super(400, code, message);
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
  constructor(message = "No such route", code = "not_found") {
    super(404, code, message);
  }
}

export class MethodNotAllowed extends RelayError {
  constructor(allowed: string[]) {
    super(405, "method_not_allowed", `This route accepts ${allowed.join(", ")}`, { Allow: allowed.join(", ") });
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
  constructor(retryAfterSeconds: number, headers: Record<string, string>) {
    super(429, "rate_limited", `Too many requests; retry in ${retryAfterSeconds} s`, {
      ...headers,
      "Retry-After": String(retryAfterSeconds),
    });
  }
}

export class UpstreamUnreachable extends RelayError {
  constructor(upstream: string, detail = "could not be reached") {
    super(502, "upstream_unreachable", `${upstream} ${detail}`);
  }
}

export class UpstreamTimeout extends RelayError {
  constructor(upstream: string, timeoutMs: number) {
    super(504, "upstream_timeout", `${upstream} did not answer within ${timeoutMs} ms`);
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
