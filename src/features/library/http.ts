import { PreconditionFailed, RangeNotSatisfiable } from "../../errors";

/** One byte range, resolved against the item's size (what R2's `get` takes as `range`). */
export type ByteRange = { offset: number; length: number };

/**
 * Library items may sit in the browser's private cache but must be revalidated every time (the ETag makes that
 * a cheap 304), so a lapsed entitlement takes effect on the next request. Never in a shared cache.
 */
export const ITEM_CACHE_CONTROL = "private, no-cache";

/**
 * The one range to serve (RFC 9110 §14.1.2), or undefined for the whole item. Another unit and several
 * ranges are ignored (§14.2 allows it; R2 serves one range); a stale `If-Range` drops the range (§13.1.5).
 * A malformed or unsatisfiable `bytes` range is 416, decided here because R2 only reports it on Cloudflare.
 */
export function rangeOf(headers: Headers, item: R2Object): ByteRange | undefined {
  const header = headers.get("Range");
  if (header === null) return undefined;
  const ifRange = headers.get("If-Range");
  if (ifRange !== null && ifRange !== item.httpEtag && ifRange !== item.uploaded.toUTCString()) return undefined;
  const match = /^bytes=(.*)$/i.exec(header.trim());
  if (!match || match[1] === undefined) return undefined;
  const spec = match[1].trim();
  if (spec.includes(",")) return undefined;
  const size = item.size;
  const suffix = /^-(\d+)$/.exec(spec);
  if (suffix) {
    const length = Math.min(Number(suffix[1]), size);
    if (length === 0) throw new RangeNotSatisfiable(size);
    return { offset: size - length, length };
  }
  const bounded = /^(\d+)-(\d*)$/.exec(spec);
  if (!bounded) throw new RangeNotSatisfiable(size);
  const first = Number(bounded[1]);
  const requestedLast = bounded[2] === "" ? Number.POSITIVE_INFINITY : Number(bounded[2]);
  if (requestedLast < first || first >= size) throw new RangeNotSatisfiable(size);
  return { offset: first, length: Math.min(requestedLast, size - 1) - first + 1 };
}

const ETAG_LIST = /^(?:\*|(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"(?:[ \t]*,[ \t]*(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*")*)$/;
const IMF_FIXDATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * The well-formed conditional headers of a request, for R2's `onlyIf` and for `assertPreconditions`. A
 * malformed one is ignored, as RFC 9110 §13.1.3-4 requires for dates (R2 would throw on a malformed ETag list
 * and read a malformed date as a failed condition).
 */
export function conditionalHeaders(headers: Headers): Headers {
  const conditions = new Headers();
  for (const name of ["If-Match", "If-None-Match"]) {
    const value = headers.get(name)?.trim();
    if (value && ETAG_LIST.test(value)) conditions.set(name, value);
  }
  for (const name of ["If-Modified-Since", "If-Unmodified-Since"]) {
    const value = headers.get(name)?.trim();
    if (value && IMF_FIXDATE.test(value) && !Number.isNaN(Date.parse(value))) conditions.set(name, value);
  }
  return conditions;
}

/** True when one of an `If-Match` list is `*` or the item's strong ETag (RFC 9110 §13.1.1). */
function etagListMatches(list: string, httpEtag: string): boolean {
  return list.split(",").some((entry) => ["*", httpEtag].includes(entry.trim()));
}

/**
 * What R2 answered without a body means: 412 when `If-Match` or `If-Unmodified-Since` failed (they come
 * first in RFC 9110 §13.2.2), otherwise 304 for `If-None-Match` / `If-Modified-Since`.
 */
export function assertPreconditions(headers: Headers, item: R2Object): void {
  const ifMatch = headers.get("If-Match");
  if (ifMatch !== null) {
    if (!etagListMatches(ifMatch, item.httpEtag)) throw new PreconditionFailed();
    return;
  }
  const unmodifiedSince = Date.parse(headers.get("If-Unmodified-Since") ?? "");
  // HTTP dates have whole seconds; the upload time has milliseconds.
  if (!Number.isNaN(unmodifiedSince) && Math.floor(item.uploaded.getTime() / 1000) * 1000 > unmodifiedSince) {
    throw new PreconditionFailed();
  }
}

/** The validators and caching headers every answer about an item carries (200, 206 and 304). */
function validatorHeaders(item: R2Object): Headers {
  return new Headers({
    ETag: item.httpEtag,
    "Last-Modified": item.uploaded.toUTCString(),
    "Cache-Control": ITEM_CACHE_CONTROL,
  });
}

/** 304 Not Modified: validators, no body (RFC 9110 §15.4.5). */
export function notModified(item: R2Object): Response {
  return new Response(null, { status: 304, headers: validatorHeaders(item) });
}

/** 200 with the whole item, or 206 with `range`; the R2 body streams through untouched. */
export function itemResponse(item: R2ObjectBody, range: ByteRange | undefined): Response {
  const headers = validatorHeaders(item);
  headers.set("Content-Type", item.httpMetadata?.contentType ?? "application/octet-stream");
  headers.set("Accept-Ranges", "bytes");
  if (range === undefined) {
    headers.set("Content-Length", String(item.size));
    return new Response(item.body, { status: 200, headers });
  }
  headers.set("Content-Length", String(range.length));
  headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${item.size}`);
  return new Response(item.body, { status: 206, headers });
}
