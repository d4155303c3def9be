import * as z from "zod";
import { NotConfigured } from "../errors";

const blankToUndefined = (value: unknown) => (typeof value === "string" && value.trim() === "" ? undefined : value);

/** A required secret or variable: unset or blank is "not set". */
export const required = () => z.preprocess(blankToUndefined, z.string());

/** An optional secret or variable: unset or blank is undefined. */
export const optional = () => z.preprocess(blankToUndefined, z.string().optional());

/** `true` or `false` (any case, surrounding blanks ignored); unset or blank is `fallback`. */
export const flag = (fallback = false) =>
  z.preprocess(
    (value) => (typeof value === "string" ? value.trim().toLowerCase() || undefined : value),
    z
      .enum(["true", "false"])
      .default(fallback ? "true" : "false")
      .transform((value) => value === "true"),
  );

/** An optional string with a default. */
export const text = (fallback: string) => z.preprocess(blankToUndefined, z.string().default(fallback));

/** An integer variable with bounds and a default. */
export const integer = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(blankToUndefined, z.coerce.number().int().min(min).max(max).default(fallback));

/** A decimal variable with bounds and a default. */
export const decimal = (fallback: number, min: number, max: number) =>
  z.preprocess(blankToUndefined, z.coerce.number().min(min).max(max).default(fallback));

/** A comma-separated list; unset or blank is the empty list. */
export const list = () =>
  z.preprocess(
    (value) =>
      typeof value === "string"
        ? value
            .split(",")
            .map((item) => item.trim())
            .filter(Boolean)
        : [],
    z.array(z.string()),
  );

/** An http(s) URL without a trailing slash. */
export const url = (fallback: string) =>
  z.preprocess(
    blankToUndefined,
    z
      .url({ protocol: /^https?$/ })
      .default(fallback)
      .transform((value) => value.replace(/\/+$/, "")),
  );

/** A JSON variable (HIVE_ROUTES, …) checked with `schema`; unset or blank is undefined. */
export const json = <S extends z.ZodType>(schema: S) =>
  z.preprocess((value, ctx) => {
    const text = blankToUndefined(value);
    if (typeof text !== "string") return text;
    try {
      return JSON.parse(text);
    } catch {
      ctx.issues.push({ code: "custom", message: "is not valid JSON", input: value });
      return z.NEVER;
    }
  }, schema.optional());

const cache = new WeakMap<object, WeakMap<z.ZodType, unknown>>();

/**
 * Reads a feature's variables from `env` through its zod schema. A missing or malformed variable becomes
 * 503 not_configured naming it (never its value). Results are cached per env object: workerd reuses one
 * env for every request of an isolate, so parsing happens once.
 */
export function readConfig<S extends z.ZodObject>(env: Env, schema: S): z.output<S> {
  let perEnv = cache.get(env);
  if (!perEnv) {
    perEnv = new WeakMap();
    cache.set(env, perEnv);
  }
  if (perEnv.has(schema)) return perEnv.get(schema) as z.output<S>;

  const result = schema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue?.path[0] ?? "configuration");
    const raw: unknown = Reflect.get(env, name);
    throw new NotConfigured(name, blankToUndefined(raw) === undefined ? "is not set" : "is invalid");
  }
  perEnv.set(schema, result.data);
  return result.data;
}

/**
 * The load-time form of `readConfig` for variables that must stop the Worker when they are wrong (a routing
 * table that leads outside the allowlist): throws a plain Error, which keeps the Worker from starting and
 * says in the deploy's output which variable is wrong and why. Its values are not secrets.
 */
export function assertConfig(env: Env, schema: z.ZodType): void {
  const result = schema.safeParse(env);
  if (result.success) return;
  const issue = result.error.issues[0];
  const name = String(issue?.path[0] ?? "configuration");
  const where = issue && issue.path.length > 1 ? ` (${issue.path.slice(1).join(".")})` : "";
  throw new Error(`The relay is not configured: ${name} is invalid${where}: ${issue?.message ?? "unknown problem"}`);
}
