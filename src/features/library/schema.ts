import * as z from "zod";
import { sku, tier } from "../ledger/schema";
import { CONTROL_CHARACTER, keyProblem } from "./key";

/** The largest body R2 stores in one PUT (5 GiB); Cloudflare's plan limit on request bodies applies first. */
export const MAX_UPLOAD_BYTES = 5 * 1024 ** 3;

/** `GET /library?prefix=&cursor=&limit=`: one page of R2's listing, filtered to what the caller may read. */
export const listQuery = z.strictObject({
  prefix: z
    .string()
    .max(1024)
    .refine((prefix) => keyProblem(prefix.replace(/\/$/, "").split("/")) === undefined, "must be a library path")
    .optional(),
  cursor: z.string().min(1).max(1024).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
});

/** A title sent percent-encoded (`encodeURIComponent`), since HTTP header values are bytes, not Unicode. */
const title = z
  .string()
  .transform((value, context) => {
    try {
      return decodeURIComponent(value).normalize("NFC").trim();
    } catch {
      context.addIssue({ code: "custom", message: "is not valid percent-encoding" });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .string()
      .min(1)
      .max(200)
      .refine((value) => !CONTROL_CHARACTER.test(value), "must not contain control characters"),
  );

/** `type/subtype` with optional parameters (RFC 9110 §8.3). */
const contentType = z
  .string()
  .max(255)
  .regex(/^[\w!#$&^.+-]+\/[\w!#$&^.+-]+\s*(;.*)?$/, "must be a media type such as application/pdf")
  .refine((value) => !CONTROL_CHARACTER.test(value), "must not contain control characters");

/** The headers of `PUT /admin/library/{path}`; exactly one of X-Library-Sku and X-Library-Tier. */
export const uploadHeaders = z
  .object({
    "X-Library-Sku": sku.optional(),
    "X-Library-Tier": tier.optional(),
    "X-Library-Title": title.optional(),
    "Content-Type": contentType.default("application/octet-stream"),
  })
  .refine((headers) => (headers["X-Library-Sku"] === undefined) !== (headers["X-Library-Tier"] === undefined), {
    message: "exactly one of X-Library-Sku and X-Library-Tier is required",
    path: ["X-Library-Sku"],
  });

/** `Content-Length` of an upload: a decimal number of bytes. */
export const uploadLength = z.object({
  "Content-Length": z
    .string()
    .regex(/^\d{1,16}$/, "must be a number of bytes")
    .transform(Number),
});
