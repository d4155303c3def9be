import fc from "fast-check";

/**
 * Value arbitraries for the fuzz test (test/integration/fuzz.test.ts): strings, numbers, JSON of every type,
 * deep nesting and huge strings. Large values are generated as a short description (`RawJson`) and only
 * materialised when a request is sent, so that fast-check's counterexamples stay short enough to read.
 */

/** JSON text spliced into a body as is: deep nesting, huge strings, lone-surrogate escapes. */
export class RawJson {
  constructor(
    readonly label: string,
    readonly text: () => string,
  ) {}

  [fc.toStringMethod](): string {
    return `RawJson(${this.label})`;
  }
}

/** Any JSON value, possibly holding `RawJson` pieces; `undefined` in an object means "no such key". */
export type FuzzJson = null | boolean | number | string | RawJson | FuzzJson[] | { [key: string]: FuzzJson };

/** Strings that broke parsers before, and strings that look almost right to the relay's schemas. */
export const NASTY_STRINGS = [
  "",
  " ",
  "\t",
  "\u0000",
  "null",
  "undefined",
  "true",
  "0",
  "-1",
  "1e309",
  "NaN",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "../../etc/passwd",
  "..",
  ".",
  "%",
  "%00",
  "%2F",
  "%E0%A4%A",
  "a/b",
  "\\",
  "'; DROP TABLE ledger_events; --",
  "<script>alert(1)</script>",
  "$" + "{jndi:ldap://x}",
  "{{7*7}}",
  "\ud800",
  "\udfff",
  "a\udc00b",
  "\ud83d\ude00",
  "e\u0301",
  "\u202e",
  "\ufeff",
  "\u2028",
  "İ",
  "ﬁ",
  "monthly",
  "MONTHLY",
  "weekly",
  "EBOOK",
  "ebook",
  "my-course",
  "purchase",
  "subscription",
  "octo",
  "octo-org",
  "hivemind",
  "octo/hivemind",
  "*",
  "plan",
  "execute",
  "hivemind-task",
  "user",
  "2099-01-01T00:00:00Z",
  "2099-01-01T00:00:00",
  "0000-01-01T00:00:00+14:00",
  "9999-12-31T23:59:59-14:00",
  "1970-01-01T00:00:00Z",
  "2024-02-30T00:00:00Z",
  "2024-01-01T23:59:60Z",
  "+275760-09-13T00:00:00Z",
  "Bearer",
  "a".repeat(201),
  "a".repeat(65),
];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

/** A string of any kind: ASCII, Unicode graphemes, any code point (lone surrogates too), nasty, long. */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  {
    weight: 1,
    arbitrary: fc.array(fc.oneof(fc.string({ maxLength: 3 }), loneSurrogate), { maxLength: 6 }).map((p) => p.join("")),
  },
);

/**
 * A string that fits in an HTTP header value: printable ASCII and tab (workerd re-encodes anything beyond
 * ASCII as UTF-8 and warns on every such header, so the fuzz keeps to what real clients send).
 */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.constantFrom("\t", " ", ",", ";", "=", '"', "\\", "%", "*", "a"), maxLength: 20 }),
  },
  // Long values, within what Cloudflare passes on (128 KiB of headers in all).
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("a", "=", "%", " ", ","), fc.integer({ min: 200, max: 32 * 1024 }))
      .map(([c, n]) => c.repeat(n)),
  },
);

/** Numbers JSON can carry, with the edges: huge, tiny, negative zero, fractions, just past a bound. */
export const anyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(
    0,
    -0,
    1,
    -1,
    0.5,
    1.5,
    2,
    2.0000001,
    3,
    100,
    101,
    200,
    201,
    1000,
    1001,
    10_000,
    10_001,
    65_536,
    65_537,
    2 ** 31,
    2 ** 32,
    2 ** 53 - 1,
    2 ** 53,
    2 ** 53 + 2,
    1e21,
    1e300,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    5e-324,
    1_700_000_000,
    253_402_300_800,
    8.64e15,
    8.64e15 + 1,
  ),
);

/** Deeply nested arrays or objects (1,000 to 200,000 levels), as raw JSON text. */
export const deepJson: fc.Arbitrary<RawJson> = fc
  .tuple(fc.constantFrom(1_000, 5_000, 50_000, 200_000), fc.constantFrom("array", "object"))
  .map(
    ([depth, kind]) =>
      new RawJson(`${kind} nested ${depth} deep`, () =>
        kind === "array" ? `${"[".repeat(depth)}${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`,
      ),
  );

/** A JSON string of 64 KiB to 1.1 MiB characters (one or several bytes each), as raw JSON text. */
export const hugeJsonString: fc.Arbitrary<RawJson> = fc
  .tuple(fc.constantFrom("a", "é", "😀", "\\ud800", "\\u0000", '\\"'), fc.integer({ min: 64 * 1024, max: 1_100_000 }))
  .map(([unit, n]) => new RawJson(`string of ${n} × ${unit}`, () => `"${unit.repeat(n)}"`));

/** Escapes JSON.stringify never writes: lone surrogates and NUL as `\u` escapes. */
const escapedString: fc.Arbitrary<RawJson> = fc
  .constantFrom('"\\ud800"', '"\\udfff\\ud800"', '"a\\u0000b"', '"\\u00e9"', '"\\/"')
  .map((text) => new RawJson(text, () => text));

const key = fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 8 }) }, fc.constantFrom(...NASTY_STRINGS));

/** Any JSON value, small or nested a few levels, with nasty strings and numbers at the leaves. */
export const anyJson: fc.Arbitrary<FuzzJson> = fc.letrec<{ value: FuzzJson }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 3, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.boolean() },
    { weight: 4, arbitrary: anyNumber },
    { weight: 6, arbitrary: anyString },
    { weight: 1, arbitrary: escapedString },
    { weight: 2, arbitrary: fc.array(tie("value"), { maxLength: 4 }) },
    { weight: 2, arbitrary: fc.dictionary(key, tie("value"), { maxKeys: 4 }) },
  ),
})).value;

/** A replacement value for one field: mostly small values of every type, sometimes deep or huge ones. */
export const fieldValue: fc.Arbitrary<FuzzJson> = fc.oneof(
  { weight: 20, arbitrary: anyJson },
  { weight: 1, arbitrary: deepJson },
  { weight: 1, arbitrary: hugeJsonString },
);

/**
 * JSON text of a value that may hold `RawJson` pieces. `undefined` values drop their key, as in JSON.
 */
export function serialize(value: FuzzJson | undefined): string {
  const raws: RawJson[] = [];
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (item instanceof RawJson) {
      raws.push(item);
      return `\u0000raw${raws.length - 1}\u0000`;
    }
    return item;
  });
  if (raws.length === 0) return text;
  return text.replace(/"\\u0000raw(\d+)\\u0000"/g, (_match, index: string) => raws[Number(index)]?.text() ?? "null");
}

/** Bytes that are not UTF-8: stray continuation bytes, overlong forms, encoded surrogates, truncations. */
export const INVALID_UTF8: readonly number[][] = [
  [0xff],
  [0xfe, 0xff],
  [0x80],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
];

/** A raw body: random bytes with invalid UTF-8 sequences spliced in. */
export const invalidUtf8Bytes: fc.Arbitrary<number[]> = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 255 }).map((b) => [b]),
      fc.constantFrom(...INVALID_UTF8),
    ),
    {
      minLength: 1,
      maxLength: 40,
    },
  )
  .map((parts) => parts.flat());

/** Percent-encodes any string, lone surrogates included (as the WTF-8 bytes a sloppy client would send). */
export function percentEncode(value: string): string {
  let out = "";
  for (const char of value) {
    try {
      out += encodeURIComponent(char);
    } catch {
      const code = char.charCodeAt(0);
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join("");
    }
  }
  return out;
}
