import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import { InvalidRequest, PayloadTooLarge, UnsupportedMediaType } from "../errors";

/** The default cap on a JSON request body. */
export const MAX_JSON_BYTES = 1024 * 1024;

/** 413 before the handler reads a body larger than `maxBytes` (Content-Length or streamed count). */
export function limitBody(maxBytes = MAX_JSON_BYTES) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new PayloadTooLarge(maxBytes);
    },
  });
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Parses the request body as JSON and validates it with `schema`: 415 for another content type, 400 for
 * malformed JSON, 400 naming the first invalid field. The body itself never appears in the message.
 */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  if (!JSON_TYPE.test(c.req.header("Content-Type") ?? "")) throw new UnsupportedMediaType();
  let value: unknown;
  try {
    value = JSON.parse(await readText(c));
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
    throw new InvalidRequest(`${[...path, issue.keys[0]].join(".")}: is not a field this route accepts`);
  }
  const field = path.length ? path.join(".") : "body";
  throw new InvalidRequest(`${field}: ${issue?.message ?? "is invalid"}`);
}

const utf8 = new TextDecoder();

/**
 * The request body as UTF-8 text whatever its Content-Type says. `c.req.text()` would do the same, but
 * workerd prints a warning with the Content-Type in it for every body that does not declare itself text.
 */
export async function readText(c: Context): Promise<string> {
  return utf8.decode(await c.req.arrayBuffer());
}
