import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN } from "../../../test/secrets";
import { FAR, read, upload, userWith } from "../../../test/support/library";
import { auditRowsOf, errorBody, relay, uniqueId } from "../../../test/support/relay";

const MIB = 1024 * 1024;

/** Byte `i` of the generated test files: a prime period, so that a misplaced range shows. */
const byteAt = (i: number) => i % 251;

/** `size` bytes made 64 KiB at a time, on demand: the whole file never exists in memory. */
function generated(size: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream(
    {
      pull(controller) {
        if (offset >= size) return controller.close();
        const chunk = new Uint8Array(Math.min(64 * 1024, size - offset));
        for (let j = 0; j < chunk.length; j++) chunk[j] = byteAt(offset + j);
        offset += chunk.length;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
}

/** The MD5 (R2's ETag of a single-part upload) of a stream, digested as it flows. */
async function md5Of(stream: ReadableStream<Uint8Array>): Promise<string> {
  const digest = new crypto.DigestStream("MD5");
  await stream.pipeTo(digest);
  return [...new Uint8Array(await digest.digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("PUT /admin/library/{path}", () => {
  it("stores the body with its SKU, title and type, answers the item and audits it", async () => {
    const key = `${uniqueId("up")}/Guide.pdf`;
    const response = await upload(key, "%PDF-1.7 tiny", {
      "Content-Type": "application/pdf",
      "Content-Length": "13",
      "X-Library-Sku": "EBOOK",
      "X-Library-Title": "The%20Guide%20%E2%80%94%20v2",
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      success: true,
      item: {
        key,
        title: "The Guide — v2",
        size: 13,
        content_type: "application/pdf",
        uploaded_at: expect.any(String),
        sku: "EBOOK",
        tier: null,
      },
      etag: `"${await md5Of(new Blob(["%PDF-1.7 tiny"]).stream())}"`,
    });
    const object = await env.LIBRARY.get(key);
    expect(await object?.text()).toBe("%PDF-1.7 tiny");
    expect(object?.customMetadata).toEqual({ title: "The Guide — v2", sku: "EBOOK" });
    expect(object?.httpMetadata).toEqual({ contentType: "application/pdf" });
    expect(await auditRowsOf(response)).toEqual([
      { actor: "admin", action: "library_put", target: `library:${key}`, outcome: "ok", dry_run: 0 },
    ]);
  });

  it("stores a tier, titles an untitled item by its file name and replaces an existing item", async () => {
    const key = `${uniqueId("up")}/notes.txt`;
    expect((await upload(key, "old", { "Content-Length": "3", "X-Library-Sku": "EBOOK" })).status).toBe(200);
    const response = await upload(key, new TextEncoder().encode("new!"), {
      "Content-Length": "4",
      "X-Library-Tier": "quarterly",
    });
    expect(response.status).toBe(200);
    const object = await env.LIBRARY.get(key);
    expect(await object?.text()).toBe("new!");
    expect(object?.customMetadata).toEqual({ title: "notes.txt", tier: "quarterly" });
    expect(object?.httpMetadata).toEqual({ contentType: "application/octet-stream" });
  });

  it.each([
    [
      { "X-Library-Sku": "EBOOK", "X-Library-Tier": "monthly" },
      "X-Library-Sku: exactly one of X-Library-Sku and X-Library-Tier is required",
    ],
    [{}, "X-Library-Sku: exactly one of X-Library-Sku and X-Library-Tier is required"],
    [{ "X-Library-Sku": "bad sku" }, "X-Library-Sku: must be 1-64 letters, digits, _ or -"],
    [{ "X-Library-Tier": "weekly" }, 'X-Library-Tier: Invalid option: expected one of "monthly"|"quarterly"|"yearly"'],
    [{ "X-Library-Sku": "EBOOK", "X-Library-Title": "%E0%A4%A" }, "X-Library-Title: is not valid percent-encoding"],
    [{ "X-Library-Sku": "EBOOK", "X-Library-Title": "a%0Ab" }, "X-Library-Title: must not contain control characters"],
    [{ "X-Library-Sku": "EBOOK", "Content-Type": "pdf" }, "Content-Type: must be a media type such as application/pdf"],
    [{ "X-Library-Sku": "EBOOK", "Content-Length": "12x" }, "Content-Length: must be a number of bytes"],
  ])("refuses headers %j with 400 and writes nothing", async (headers, message) => {
    const key = `${uniqueId("up")}/x.txt`;
    const response = await upload(key, "body", { "Content-Length": "4", ...headers });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(errorBody("invalid_request", message));
    expect(await env.LIBRARY.head(key)).toBeNull();
    expect(await auditRowsOf(response)).toEqual([
      {
        actor: "admin",
        action: "library_put",
        target: `library:${key}`,
        outcome: "refused:invalid_request",
        dry_run: 0,
      },
    ]);
  });

  it.each(["..%2fx", "a//b", "a%5cb", "a%00b"])("refuses the path %s with 400", async (path) => {
    const response = await upload(path, "body", { "Content-Length": "4", "X-Library-Sku": "EBOOK" });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(errorBody("invalid_path"));
  });

  it("refuses a wrong ADMIN_TOKEN and a user token with 401, writes nothing and audits the refusal", async () => {
    const key = `${uniqueId("up")}/x.txt`;
    const response = await upload(key, "body", {
      Authorization: "Bearer not-the-admin-token",
      "Content-Length": "4",
      "X-Library-Sku": "EBOOK",
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual(errorBody("unauthorized", "Missing or invalid credentials"));
    expect(await env.LIBRARY.head(key)).toBeNull();
    expect(await auditRowsOf(response)).toEqual([
      { actor: "admin", action: "library_put", target: "library", outcome: "refused:unauthorized", dry_run: 0 },
    ]);
  });

  it("answers 411 for a streamed body without Content-Length", async () => {
    const key = `${uniqueId("up")}/x.bin`;
    const response = await upload(key, generated(10), { "X-Library-Sku": "EBOOK" });
    expect(response.status).toBe(411);
    expect(await response.json()).toEqual(errorBody("length_required", "Content-Length is required"));
    expect(await env.LIBRARY.head(key)).toBeNull();
  });

  it("answers 413 for more than R2 takes in one PUT", async () => {
    const key = `${uniqueId("up")}/x.bin`;
    const response = await upload(key, generated(10), {
      "X-Library-Sku": "EBOOK",
      "Content-Length": String(5 * 1024 ** 3 + 1),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual(
      errorBody("payload_too_large", `Request body is larger than ${5 * 1024 ** 3} bytes`),
    );
  });

  it("answers 400 when the body is shorter than its Content-Length, and stores nothing", async () => {
    const key = `${uniqueId("up")}/x.bin`;
    const response = await upload(key, generated(10), { "X-Library-Sku": "EBOOK", "Content-Length": "20" });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(
      errorBody("length_mismatch", "body: is not the 20 bytes Content-Length declares"),
    );
    expect(await env.LIBRARY.head(key)).toBeNull();
  });

  // Found by the fuzz test (test/integration/fuzz.test.ts): a request whose body is null (what the Worker gets
  // when called with a Request object directly; `vars` makes relay() do that) used to hang the upload forever.
  it("answers a PUT without a body instead of hanging: an empty item for Content-Length 0, else 400", async () => {
    const put = (key: string, length: string) =>
      relay(
        `/admin/library/${key}`,
        {
          method: "PUT",
          headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "X-Library-Sku": "EBOOK", "Content-Length": length },
        },
        {},
      );
    const empty = `${uniqueId("up")}/empty.txt`;
    const stored = await put(empty, "0");
    expect(stored.status).toBe(200);
    expect((await env.LIBRARY.head(empty))?.size).toBe(0);

    const missing = `${uniqueId("up")}/x.bin`;
    const refused = await put(missing, "11");
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual(
      errorBody("length_mismatch", "body: is not the 11 bytes Content-Length declares"),
    );
    expect(await env.LIBRARY.head(missing)).toBeNull();
  });

  it("streams a 50 MiB body past the 1 MiB JSON limit and serves a range from its middle", async () => {
    const size = 50 * MIB;
    const key = `${uniqueId("big")}/video.bin`;
    const response = await upload(key, generated(size), {
      "Content-Type": "video/mp4",
      "Content-Length": String(size),
      "X-Library-Tier": "yearly",
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ item: { key, size, content_type: "video/mp4", tier: "yearly" } });
    const head = await env.LIBRARY.head(key);
    expect(head?.etag).toBe(await md5Of(generated(size)));

    const user = await userWith({ type: "subscription", tier: "monthly", expires_at: FAR });
    const start = 25 * MIB + 12_345;
    const middle = await read(`/library/${key}`, user, { Range: `bytes=${start}-${start + 999}` });
    expect(middle.status).toBe(206);
    expect(middle.headers.get("Content-Range")).toBe(`bytes ${start}-${start + 999}/${size}`);
    const bytes = new Uint8Array(await middle.arrayBuffer());
    expect(bytes).toEqual(Uint8Array.from({ length: 1000 }, (_, j) => byteAt(start + j)));

    const whole = await read(`/library/${key}`, user);
    expect(whole.headers.get("Content-Length")).toBe(String(size));
    expect(await md5Of(whole.body as ReadableStream<Uint8Array>)).toBe(head?.etag);
  });
});
