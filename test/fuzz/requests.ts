import fc from "fast-check";
import type { AuthPolicy, RouteSpec } from "../../src/middleware/guard";
import type { RouteName } from "../../src/routes";
import { ADMIN_TOKEN, CHATGPT_BEARER_TOKEN, RELAY_SECRET } from "../secrets";
import { hubSignature } from "../support/dispatches";
import { paymentHeaders, stripeSignature, unsecuredJwt, userJwt } from "../support/ledger";
import {
  credentialIntoForm,
  type RequestContext,
  rightCredential,
  VALID_REQUESTS,
  type ValidRequest,
} from "../support/valid-requests";
import {
  anyJson,
  anyString,
  deepJson,
  type FuzzJson,
  fieldValue,
  headerValue,
  invalidUtf8Bytes,
  percentEncode,
  RawJson,
  serialize,
} from "./values";

/**
 * The cases of the fuzz test: the mutations that turn a route's valid request (test/support/valid-requests.ts)
 * into anything between "one field wrong" and "random bytes".
 */

/** The Origin ORIGIN_ALLOWLIST allows during the fuzz run. */
export const FUZZ_ORIGIN = "https://app.test";

/** Which credential a case sends: the route's own, none, a wrong one, another route's valid one, or a broken one. */
export type Credential = "right" | "none" | "wrong" | "other" | "malformed";

/** A change to the valid request; a case applies zero (valid), a few (mutated) or many (random) of them. */
export type Mutation =
  | { kind: "set"; pick: number; value: FuzzJson }
  | { kind: "delete"; pick: number }
  | { kind: "add"; pick: number; key: string; value: FuzzJson }
  | { kind: "body"; body: BodySpec }
  | { kind: "encoding"; encoding: "bom" | "truncate" | "invalid-utf8" | "trailing-garbage" | "duplicate-key" }
  | { kind: "query-set"; pick: number; value: string }
  | { kind: "query-delete"; pick: number }
  | { kind: "query-add"; key: string; value: string }
  | { kind: "query-raw"; text: string }
  | { kind: "header"; name: string; value: string | null }
  | { kind: "credential"; credential: Credential; pick: number }
  | { kind: "method"; method: string }
  | { kind: "path"; variant: "trailing-slash" | "upper" | "double-slash" | "dot-segment" | "encoded" | "extra" }
  | { kind: "tail"; segments: string[]; encode: boolean }
  | { kind: "stale-signature" }
  | { kind: "subject"; subject: string };

/** A whole body in place of the valid one. */
export type BodySpec =
  | { json: FuzzJson }
  | { text: string }
  | { bytes: number[] }
  | { huge: number; unit: string }
  | { none: true };

export type FuzzCase = { mode: "valid" | "mutated" | "random"; variant: number; mutations: Mutation[] };

/** Methods the Request constructor takes (workerd refuses unknown ones and CONNECT), lower case too. */
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "get", "post", "put", "Patch"];

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "application/json;charset=UTF-16",
  "APPLICATION/JSON",
  "application/vnd.api+json",
  "application/jsonx",
  "application/json-patch+json",
  "text/json",
  "text/plain",
  "text/plain; charset=utf-8",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/octet-stream",
  "application/pdf",
  "",
  " application/json",
  "application/json, text/plain",
  "*/*",
];

/** Headers that mean something to some route; the fuzz sets them to random values. */
const HEADER_NAMES = [
  "Content-Type",
  "Content-Length",
  "Content-Encoding",
  "Authorization",
  "X-Relay-Secret",
  "Origin",
  "CF-Connecting-IP",
  "X-Forwarded-For",
  "Range",
  "If-Range",
  "If-Match",
  "If-None-Match",
  "If-Modified-Since",
  "If-Unmodified-Since",
  "X-Library-Sku",
  "X-Library-Tier",
  "X-Library-Title",
  "Stripe-Signature",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "X-Hub-Signature-256",
  "X-GitHub-Event",
  "X-GitHub-Delivery",
  "Idempotency-Key",
  "Accept",
  "Accept-Encoding",
  "Cookie",
  "X-HTTP-Method-Override",
  "Access-Control-Request-Method",
];

/** Values for the headers above that are close to meaningful (ranges, ETags, dates, IPs, signatures). */
const HEADER_VALUES = [
  "bytes=0-0",
  "bytes=0-",
  "bytes=-5",
  "bytes=5-2",
  "bytes=99999999999999999999-",
  "bytes=-0",
  "bytes=0-1,2-3",
  "items=0-1",
  "bytes=",
  '"etag"',
  'W/"etag"',
  "*",
  "etag-without-quotes",
  '"unterminated',
  "Thu, 01 Jan 1970 00:00:00 GMT",
  "Fri, 31 Dec 9999 23:59:59 GMT",
  "not a date",
  "-1",
  "0",
  "18446744073709551616",
  "1.5",
  "gzip",
  "127.0.0.1",
  "::1",
  "2001:db8::1",
  "10.0.0.1, 10.0.0.2",
  "t=1,v1=00",
  `t=${"9".repeat(12)},v1=${"a".repeat(64)}`,
  "v1,AAAA",
  "v1,",
  "monthly",
  "EBOOK",
  "workflow_run",
  "ping",
  `sha256=${"0".repeat(64)}`,
  "%E0%A4%A",
  "%00",
  "null",
  FUZZ_ORIGIN,
  "https://evil.test",
];

const credential: fc.Arbitrary<Credential> = fc.constantFrom("none", "wrong", "other", "malformed", "right");

/** The wildcard routes' path tails: unusual segments, encoded or not. */
const segment = fc.oneof(
  { weight: 4, arbitrary: anyString },
  { weight: 2, arbitrary: fc.constantFrom("..", ".", "", "%2F", "%2e%2e", "%00", "%zz", "%E0%A4", "a\\b", "%5C") },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 1100 }).map((n) => "x".repeat(n)) },
);

const bodySpec: fc.Arbitrary<BodySpec> = fc.oneof(
  { weight: 5, arbitrary: anyJson.map((json) => ({ json })) },
  { weight: 1, arbitrary: deepJson.map((raw): BodySpec => ({ json: raw })) },
  { weight: 2, arbitrary: anyString.map((text) => ({ text })) },
  { weight: 2, arbitrary: invalidUtf8Bytes.map((bytes) => ({ bytes })) },
  // Around the 1 MiB cap on JSON bodies, up to 2 MiB: 413 above it.
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.oneof(
          fc.constantFrom(1024 * 1024 - 2, 1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1),
          fc.integer({ min: 900 * 1024, max: 2 * 1024 * 1024 }),
        ),
        fc.constantFrom("a", "é"),
      )
      .map(([huge, unit]) => ({ huge, unit })),
  },
  { weight: 1, arbitrary: fc.constant({ none: true as const }) },
);

const queryString = fc.oneof(anyString, fc.constantFrom(...HEADER_VALUES));

/** Mutations that keep the request's shape and credential: one field, parameter, header or encoding. */
const focusedMutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("set"), pick: fc.nat(), value: fieldValue }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete"), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("add"), pick: fc.nat(), key: anyString, value: anyJson }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("query-set"), pick: fc.nat(), value: queryString }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("query-delete"), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("query-add"),
      key: fc.oneof(anyString, fc.constantFrom("user_id", "tier", "sku", "limit", "cursor", "prefix")),
      value: queryString,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("header"),
      name: fc.constantFrom(...HEADER_NAMES),
      value: fc.option(fc.oneof(headerValue, fc.constantFrom(...HEADER_VALUES, ...CONTENT_TYPES)), { nil: null }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("encoding"),
      encoding: fc.constantFrom("bom", "truncate", "invalid-utf8", "trailing-garbage", "duplicate-key"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("tail"),
      segments: fc.array(segment, { minLength: 1, maxLength: 4 }),
      encode: fc.boolean(),
    }),
  },
  // A valid user JWT whose `sub` is anything an identity provider might put there.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("subject"), subject: anyString }) },
);

/** Mutations that change anything: the method, the path, the credential, the whole body or query. */
const anyMutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: focusedMutation },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("body"), body: bodySpec }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("credential"), credential, pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("method"), method: fc.constantFrom(...METHODS) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("path"),
      variant: fc.constantFrom("trailing-slash", "upper", "double-slash", "dot-segment", "encoded", "extra"),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("query-raw"), text: anyString }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("header"),
      name: fc.oneof(fc.constantFrom(...HEADER_NAMES), fc.stringMatching(/^X-[A-Za-z0-9-]{1,20}$/)),
      value: fc.option(headerValue, { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "stale-signature" as const }) },
);

/**
 * The cases: a valid request now and then (it must succeed or be refused in the error shape), mostly a
 * valid request with one to three fields, parameters or headers changed (the credential stays right, so the
 * input reaches validation and the handler), and random requests with many things changed.
 */
export const fuzzCase: fc.Arbitrary<FuzzCase> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      mode: fc.constant("valid" as const),
      variant: fc.nat(),
      mutations: fc.constant<Mutation[]>([]),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      mode: fc.constant("mutated" as const),
      variant: fc.nat(),
      mutations: fc.array(focusedMutation, { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      mode: fc.constant("random" as const),
      variant: fc.nat(),
      mutations: fc.array(anyMutation, { minLength: 2, maxLength: 8 }),
    }),
  },
);

/** A request ready to send, and what it is about (for the checks on storage). */
export type BuiltRequest = { target: string; method: string; init: RequestInit; description: string };

type JsonPath = Array<string | number>;

/** Every path into a JSON value (root excluded), depth first: what `pick` chooses among. */
function pathsOf(value: FuzzJson | undefined, prefix: JsonPath = []): JsonPath[] {
  if (value === null || typeof value !== "object" || value instanceof RawJson) return [];
  const entries: Array<[string | number, FuzzJson]> = Array.isArray(value)
    ? value.map((item, i): [number, FuzzJson] => [i, item])
    : Object.entries(value);
  return entries.flatMap(([key, item]) => [[...prefix, key], ...pathsOf(item, [...prefix, key])]);
}

function clone(value: FuzzJson | undefined): FuzzJson | undefined {
  if (value === undefined || value === null || typeof value !== "object" || value instanceof RawJson) return value;
  if (Array.isArray(value)) return value.map((item) => clone(item) as FuzzJson);
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, clone(item) as FuzzJson]));
}

/** The container of `path`'s last step and that step, or undefined for the root. */
function parentOf(
  root: FuzzJson | undefined,
  path: JsonPath,
): [FuzzJson[] | Record<string, FuzzJson>, string | number] | undefined {
  let node: FuzzJson | undefined = root;
  for (const step of path.slice(0, -1)) {
    if (node === null || typeof node !== "object" || node instanceof RawJson) return undefined;
    node = Array.isArray(node) ? node[step as number] : node[step as string];
  }
  const last = path.at(-1);
  if (last === undefined || node === null || typeof node !== "object" || node instanceof RawJson) return undefined;
  return [node, last];
}

function setAt(root: FuzzJson | undefined, path: JsonPath, value: FuzzJson | undefined): void {
  const found = parentOf(root, path);
  if (!found) return;
  const [container, step] = found;
  if (Array.isArray(container)) {
    if (value === undefined) container.splice(step as number, 1);
    else container[step as number] = value;
  } else if (value === undefined) delete container[step as string];
  else
    Object.defineProperty(container, step as string, { value, enumerable: true, writable: true, configurable: true });
}

function addAt(root: FuzzJson | undefined, pick: number, key: string, value: FuzzJson): void {
  const objects = [[], ...pathsOf(root)].filter((path) => {
    const node = path.length === 0 ? root : nodeAt(root, path);
    return node !== null && typeof node === "object" && !(node instanceof RawJson) && !Array.isArray(node);
  });
  const path = objects[pick % Math.max(1, objects.length)];
  if (!path) return;
  const node = (path.length === 0 ? root : nodeAt(root, path)) as Record<string, FuzzJson>;
  Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
}

function nodeAt(root: FuzzJson | undefined, path: JsonPath): FuzzJson | undefined {
  const found = parentOf(root, path);
  if (!found) return undefined;
  const [container, step] = found;
  return Array.isArray(container) ? container[step as number] : container[step as string];
}

/** Every valid credential of the relay, by policy, for "another route's credential". */
async function validCredentials(subject: string): Promise<Array<Record<string, string>>> {
  return [
    { Authorization: `Bearer ${RELAY_SECRET}` },
    { "X-Relay-Secret": RELAY_SECRET },
    { Authorization: `Bearer ${CHATGPT_BEARER_TOKEN}` },
    { Authorization: `Bearer ${ADMIN_TOKEN}` },
    { Authorization: `Bearer ${await userJwt(subject)}` },
  ];
}

async function credentialHeaders(
  spec: RouteSpec,
  choice: Credential,
  pick: number,
  variant: number,
  subject: string,
): Promise<Record<string, string>> {
  switch (choice) {
    case "right":
      return rightCredential(spec.auth, subject, variant);
    case "none":
      return {};
    case "other": {
      const all = await validCredentials(`${subject}-other`);
      return all[pick % all.length] ?? {};
    }
    case "wrong": {
      const bearer = async (token: Promise<string> | string) => ({ Authorization: `Bearer ${await token}` });
      const wrong: Array<() => Promise<Record<string, string>>> = [
        () => bearer(`wrong-${pick}`),
        async () => ({ "X-Relay-Secret": `${RELAY_SECRET}x` }),
        () => bearer(ADMIN_TOKEN.slice(0, -1)),
        () => bearer(userJwt(subject, { secret: "not-the-user-jwt-secret-0123456789" })),
        () => bearer(userJwt(subject, { expiresAt: 1_000_000_000 })),
        () => bearer(userJwt(`${subject}-else`)),
        () => bearer(userJwt(subject, { subject: null })),
        // The helper base64-encodes with btoa, which takes Latin-1 only.
        () => bearer(unsecuredJwt(percentEncode(subject))),
      ];
      return (await wrong[pick % wrong.length]?.()) ?? {};
    }
    case "malformed": {
      const malformed = [
        "Bearer",
        "Bearer ",
        "Basic dGVzdDp0ZXN0",
        `Bearer ${RELAY_SECRET} extra`,
        `bearer    ${CHATGPT_BEARER_TOKEN}`,
        `Bearer\t${ADMIN_TOKEN}`,
        "Bearer a.b.c",
        "Bearer ....",
        `Bearer ${"A".repeat(16 * 1024)}`,
        "Token abc",
        "Bearer %C3%A9",
      ];
      return { Authorization: malformed[pick % malformed.length] as string };
    }
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Applies a case to its route's valid request and returns the request to send: body mutations first, then
 * the encoding, the credential (a webhook is signed over the final body, so that mutated input gets past the
 * signature), then headers, query, path and method.
 */
export async function buildRequest(
  name: RouteName,
  spec: RouteSpec,
  fuzz: FuzzCase,
  context: RequestContext,
  ip: string,
): Promise<BuiltRequest> {
  const example: ValidRequest = VALID_REQUESTS[name].request(context, fuzz.variant);
  let body: FuzzJson | undefined = clone(example.body);
  let raw: BodySpec | undefined = example.text === undefined ? undefined : { text: example.text };
  let method: string = spec.method;
  let path = example.path;
  let query: Array<[string, string]> | string = example.query.map(([k, v]): [string, string] => [k, v]);
  let credential: { choice: Credential; pick: number } = { choice: "right", pick: 0 };
  let stale = false;
  let subject = example.subject ?? context.user;
  const headerChanges: Array<[string, string | null]> = [];
  const encodings: string[] = [];

  for (const mutation of fuzz.mutations) {
    const paths = pathsOf(body);
    switch (mutation.kind) {
      case "set": {
        // A route without a JSON body gets the value in one of its parameters or headers instead.
        const target = paths[mutation.pick % Math.max(1, paths.length)];
        if (target) setAt(body, target, mutation.value);
        else if (typeof query !== "string" && query.length > 0) {
          const index = mutation.pick % query.length;
          query[index] = [query[index]?.[0] ?? "", asText(mutation.value)];
        } else if (Object.keys(example.headers).length > 0) {
          const names = Object.keys(example.headers);
          headerChanges.push([names[mutation.pick % names.length] as string, asHeader(asText(mutation.value))]);
        }
        break;
      }
      case "delete": {
        const target = paths[mutation.pick % Math.max(1, paths.length)];
        if (target) setAt(body, target, undefined);
        else if (typeof query !== "string" && query.length > 0) query.splice(mutation.pick % query.length, 1);
        else if (Object.keys(example.headers).length > 0) {
          const names = Object.keys(example.headers);
          headerChanges.push([names[mutation.pick % names.length] as string, null]);
        }
        break;
      }
      case "add":
        addAt(body, mutation.pick, mutation.key, mutation.value);
        break;
      case "body":
        body = undefined;
        raw = mutation.body;
        break;
      case "encoding":
        encodings.push(mutation.encoding);
        break;
      case "query-set":
      case "query-delete": {
        if (typeof query === "string" || query.length === 0) break;
        const index = mutation.pick % query.length;
        if (mutation.kind === "query-delete") query.splice(index, 1);
        else query[index] = [query[index]?.[0] ?? "", mutation.value];
        break;
      }
      case "query-add":
        if (typeof query !== "string") query.push([mutation.key, mutation.value]);
        break;
      case "query-raw":
        query = mutation.text;
        break;
      case "header":
        headerChanges.push([mutation.name, mutation.value]);
        break;
      case "credential":
        credential = { choice: mutation.credential, pick: mutation.pick };
        break;
      case "method":
        method = mutation.method;
        break;
      case "path":
        path = variedPath(path, mutation.variant);
        break;
      case "tail": {
        // Wildcard routes only: a new tail after the route's fixed prefix (the upload keeps its unique folder).
        if (!spec.path.endsWith("/*")) break;
        const prefix = name === "libraryUpload" ? `${path.split("/").slice(0, 4).join("/")}/` : spec.path.slice(0, -1);
        const tail = mutation.segments.map((s) => (mutation.encode ? percentEncode(s) : s)).join("/");
        path = `${prefix}${tail}`;
        break;
      }
      case "stale-signature":
        stale = true;
        break;
      case "subject":
        subject = mutation.subject;
        break;
    }
  }

  let bytes: Uint8Array | undefined = bodyBytes(body, raw);
  for (const encoding of encodings) bytes = encoded(bytes, encoding);
  const text = bytes === undefined ? "" : decoder.decode(bytes);

  const headers = new Headers(example.headers);
  const credentials = await credentialHeaders(spec, credential.choice, credential.pick, fuzz.variant, subject);
  for (const [key, value] of Object.entries(credentials)) headers.set(key, value);
  for (const [key, value] of Object.entries(
    await signature(spec.auth, credential.choice, text, context.eventId, stale),
  ))
    headers.set(key, value);
  if (example.formCredential !== undefined && bytes !== undefined) {
    // The consent form's credential is typed into the form, not sent as a header.
    bytes = encoder.encode(credentialIntoForm(example, Object.fromEntries(headers), text).body ?? "");
    headers.delete("Authorization");
  }
  headers.set("CF-Connecting-IP", ip);
  if (bytes !== undefined && name === "libraryUpload") headers.set("Content-Length", String(bytes.length));
  for (const [key, value] of headerChanges) {
    try {
      if (value === null) headers.delete(key);
      else headers.set(key, value);
    } catch {
      // A value Headers refuses (the fuzz keeps to Latin-1, but stay safe): the header is left as it was.
    }
  }

  const search =
    typeof query === "string" ? query : query.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join("&");
  const target = `${path}${search === "" ? "" : `?${search}`}`;
  const upper = method.toUpperCase();
  const init: RequestInit = { method, headers };
  if (bytes !== undefined && upper !== "GET" && upper !== "HEAD") init.body = bytes;
  const size = bytes === undefined ? "no body" : `${bytes.length} bytes`;
  return { target, method, init, description: `${method} ${target.slice(0, 300)} (${size})` };
}

/** A field value as a query parameter or header: strings as they are, anything else as JSON (truncated). */
function asText(value: FuzzJson): string {
  if (typeof value === "string") return value;
  return serialize(value).slice(0, 64 * 1024);
}

/** A header value from any text: what is not printable ASCII is percent-encoded. */
function asHeader(text: string): string {
  return text.replace(/[^\x20-\x7e\t]/gu, (char) => percentEncode(char));
}

function variedPath(path: string, variant: string): string {
  switch (variant) {
    case "trailing-slash":
      return `${path}/`;
    case "upper":
      return path.toUpperCase();
    case "double-slash":
      return `/${path}`;
    case "dot-segment":
      return path.replace(/^\/([^/]+)/, "/$1/./x/..");
    case "encoded":
      return path.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`);
    default:
      return `${path}/extra`;
  }
}

function bodyBytes(body: FuzzJson | undefined, raw: BodySpec | undefined): Uint8Array | undefined {
  if (raw === undefined) return body === undefined ? undefined : encoder.encode(serialize(body));
  if ("json" in raw) return encoder.encode(serialize(raw.json));
  if ("text" in raw) return encoder.encode(raw.text);
  if ("bytes" in raw) return Uint8Array.from(raw.bytes);
  if ("huge" in raw) {
    const unit = encoder.encode(raw.unit).length;
    return encoder.encode(`{"messages":"${raw.unit.repeat(Math.max(0, Math.floor((raw.huge - 16) / unit)))}"}`);
  }
  return undefined;
}

function encoded(bytes: Uint8Array | undefined, encoding: string): Uint8Array | undefined {
  if (bytes === undefined) return bytes;
  const concat = (...parts: Array<ArrayLike<number>>) => Uint8Array.from(parts.flatMap((part) => Array.from(part)));
  switch (encoding) {
    case "bom":
      return concat([0xef, 0xbb, 0xbf], bytes);
    case "truncate":
      return bytes.slice(0, Math.floor(bytes.length / 2));
    case "invalid-utf8": {
      // Inside the first string value, where a parser would have to decide what the bytes mean.
      const quote = bytes.indexOf(0x22);
      const at = quote < 0 ? 0 : quote + 1;
      return concat(bytes.slice(0, at), [0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80], bytes.slice(at));
    }
    case "trailing-garbage":
      return concat(bytes, encoder.encode(' {"x":1} \u0000'));
    default: {
      // A duplicate key: JSON.parse keeps the last one.
      const text = decoder.decode(bytes);
      return text.startsWith("{") && text.length > 2
        ? encoder.encode(`{"type":"x","user_id":1,${text.slice(1)}`)
        : bytes;
    }
  }
}

/** A webhook's signature over the body the relay will see (decoded text); none for other policies. */
async function signature(
  policy: AuthPolicy,
  choice: Credential,
  text: string,
  id: string,
  stale: boolean,
): Promise<Record<string, string>> {
  if (policy !== "stripe-signature" && policy !== "standard-webhook" && policy !== "github-signature") return {};
  if (choice === "none" || choice === "other") return {};
  if (policy === "github-signature") {
    // GitHub signs no timestamp: a stale delivery is one whose delivery id was seen or whose news is older.
    if (choice === "malformed") return { "X-Hub-Signature-256": `sha256=${"z".repeat(64)}` };
    return {
      "X-Hub-Signature-256": await hubSignature(text, choice === "wrong" ? "not-the-webhook-secret" : undefined),
    };
  }
  const timestamp = Math.floor(Date.now() / 1000) - (stale ? 3600 : 0);
  const secret =
    choice === "wrong"
      ? policy === "stripe-signature"
        ? "whsec_wrong"
        : "whsec_d3JvbmcgcGF5bWVudCBzZWNyZXQ="
      : undefined;
  if (policy === "stripe-signature") {
    if (choice === "malformed") return { "Stripe-Signature": `t=${timestamp},v0=${"0".repeat(64)}` };
    const header = await stripeSignature(text, { ...(secret ? { secret } : {}), timestamp });
    return { "Stripe-Signature": header };
  }
  if (choice === "malformed") {
    return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": "v1,not-base64" };
  }
  const { "Content-Type": _type, ...signed } = paymentHeaders(id, text, {
    ...(secret ? { secret } : {}),
    at: new Date(timestamp * 1000),
  });
  return signed;
}
