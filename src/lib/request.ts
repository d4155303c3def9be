import type { z } from "zod";
import { InvalidRequest, UnsupportedMediaType } from "../errors";

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Parses a request's body as JSON and validates it with `schema`: 415 for another content type, 400 for
 * malformed JSON, 400 naming the first invalid field. The body itself never appears in the message.
 */
export async function readJson<S extends z.ZodType>(request: Request, schema: S): Promise<z.output<S>> {
  if (!JSON_TYPE.test(request.headers.get("Content-Type") ?? "")) throw new UnsupportedMediaType();
  let value: unknown;
  try {
    // Parsed straight from the bytes (UTF-8, invalid sequences replaced, as readText would).
    value = await request.json();
  } catch {
    throw new InvalidRequest("Request body is not valid JSON", "invalid_json");
  }
  return validate(schema, value);
}

/** Validates a value with a zod schema; a failure is a 400 that names the field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.map(String) ?? [];
  // A field the schema does not know is named as the field, not as a problem of the object holding it.
  if (issue?.code === "unrecognized_keys") {
    const field = [...path, issue.keys[0]].join(".");
    throw new InvalidRequest(`${field}: is not a field this route accepts`, "invalid_request", field);
  }
  const field = path.length ? path.join(".") : "body";
  throw new InvalidRequest(
    `${field}: ${issue?.message ?? "is invalid"}`,
    "invalid_request",
    path.length ? field : null,
  );
}

const utf8 = new TextDecoder();

/**
 * The request body as UTF-8 text whatever its Content-Type says. `request.text()` would do the same, but
 * workerd prints a warning with the Content-Type in it for every body that does not declare itself text.
 */
export async function readText(request: Request): Promise<string> {
  return utf8.decode(await request.arrayBuffer());
}

/** Reads `Authorization: Bearer <token>` (RFC 6750 §2.1); the scheme is case-insensitive. */
export function bearerToken(authorization: string | null | undefined): string | undefined {
  const match = authorization?.match(/^Bearer[ ]+([^ ]+)[ ]*$/i);
  return match?.[1];
}
