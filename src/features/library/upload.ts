import { Hono } from "hono";
import { type AuditedEnv, auditAttempt } from "../../audit/attempt";
import { InvalidRequest, LengthRequired, PayloadTooLarge } from "../../errors";
import { validate } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import { itemOf } from "./item";
import { keyFromPath, pathAfter } from "./key";
import { MAX_UPLOAD_BYTES, uploadHeaders, uploadLength } from "./schema";

/** `PUT /admin/library/{path}`: the admin streams a file into the library (docs/api.md, "Private library"). */
export const uploadRoutes = {
  libraryUpload: { method: "PUT", path: "/admin/library/*", auth: "admin", rateLimit: "admin", body: "stream" },
} as const satisfies Record<string, RouteSpec>;

export const libraryUpload = new Hono<AuditedEnv>();

mount(
  libraryUpload,
  uploadRoutes.libraryUpload,
  async (c) => {
    const key = keyFromPath(pathAfter(c.req.url, uploadRoutes.libraryUpload.path));
    c.get("audit").target = `library:${key}`;
    const headers = validate(uploadHeaders, {
      "X-Library-Sku": c.req.header("X-Library-Sku"),
      "X-Library-Tier": c.req.header("X-Library-Tier"),
      "X-Library-Title": c.req.header("X-Library-Title"),
      "Content-Type": c.req.header("Content-Type"),
    });
    const declared = c.req.header("Content-Length");
    if (declared === undefined) throw new LengthRequired();
    const length = validate(uploadLength, { "Content-Length": declared })["Content-Length"];
    if (length > MAX_UPLOAD_BYTES) throw new PayloadTooLarge(MAX_UPLOAD_BYTES);

    const customMetadata: Record<string, string> = {
      title: headers["X-Library-Title"] ?? key.slice(key.lastIndexOf("/") + 1),
    };
    if (headers["X-Library-Sku"] !== undefined) customMetadata.sku = headers["X-Library-Sku"];
    if (headers["X-Library-Tier"] !== undefined) customMetadata.tier = headers["X-Library-Tier"];
    // R2 stores a stream only when its length is known; FixedLengthStream passes bytes through one chunk
    // at a time and fails the put if the body is shorter or longer than declared. No body is an empty one,
    // closed at once (an unclosed stream would hang the put).
    const empty = () => new ReadableStream({ start: (controller) => controller.close() });
    const body = (c.req.raw.body ?? empty()).pipeThrough(new FixedLengthStream(length));
    let stored: R2Object;
    try {
      stored = await c.env.LIBRARY.put(key, body, {
        httpMetadata: { contentType: headers["Content-Type"] },
        customMetadata,
      });
    } catch (error) {
      if (error instanceof TypeError) {
        throw new InvalidRequest(`body: is not the ${length} bytes Content-Length declares`, "length_mismatch");
      }
      throw error;
    }
    // The ETag of a single-part upload is the body's MD5: the uploader can check what arrived.
    return c.json({ success: true, item: itemOf(stored), etag: stored.httpEtag });
  },
  // First, so that refusals (rate limit, token, headers) are audited too.
  [auditAttempt({ actor: "admin", action: "library_put", target: () => "library" })],
);
