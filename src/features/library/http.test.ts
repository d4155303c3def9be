import { describe, expect, it } from "vitest";
import { userJwt } from "../../../test/support/ledger";
import { FAR, read, stored, userWith } from "../../../test/support/library";
import { errorBody, relay, uniqueId, uniqueIp } from "../../../test/support/relay";

/** A ten-byte item "0123456789" and a subscriber who may read it. */
async function digits() {
  const path = `/library/${uniqueId("digits")}/d.txt`;
  await stored(path.slice("/library/".length), "0123456789", { "X-Library-Tier": "monthly" });
  const user = await userWith({ type: "subscription", tier: "monthly", expires_at: FAR });
  return { path, user };
}

describe("GET /library/{path}: Range (RFC 9110 §14)", () => {
  it.each([
    ["bytes=2-4", "234", "bytes 2-4/10"],
    ["bytes=7-", "789", "bytes 7-9/10"],
    ["bytes=-3", "789", "bytes 7-9/10"],
    ["bytes=8-99", "89", "bytes 8-9/10"],
    ["bytes=-50", "0123456789", "bytes 0-9/10"],
  ])("answers %s with 206 and exactly those bytes", async (range, bytes, contentRange) => {
    const { path, user } = await digits();
    const response = await read(path, user, { Range: range });
    expect(response.status).toBe(206);
    expect(response.headers.get("Content-Range")).toBe(contentRange);
    expect(response.headers.get("Content-Length")).toBe(String(bytes.length));
    expect(await response.text()).toBe(bytes);
  });

  it.each(["bytes=10-", "bytes=20-30", "bytes=-0", "bytes=5-2", "bytes=abc"])(
    "answers %s with 416 and Content-Range: bytes */10",
    async (range) => {
      const { path, user } = await digits();
      const response = await read(path, user, { Range: range });
      expect(response.status).toBe(416);
      expect(response.headers.get("Content-Range")).toBe("bytes */10");
      expect(await response.json()).toEqual(
        errorBody("range_not_satisfiable", "The Range header does not fit the item's 10 bytes"),
      );
    },
  );

  it.each([
    ["another unit", { Range: "items=0-1" }],
    ["several ranges", { Range: "bytes=0-1,4-5" }],
    ["a stale If-Range", { Range: "bytes=0-1", "If-Range": '"stale"' }],
  ])("ignores %s and sends the whole item", async (_, headers) => {
    const { path, user } = await digits();
    const response = await read(path, user, headers);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("0123456789");
  });

  it("honours a Range whose If-Range is the current ETag", async () => {
    const { path, user } = await digits();
    const etag = (await read(path, user)).headers.get("ETag") ?? "";
    const response = await read(path, user, { Range: "bytes=0-1", "If-Range": etag });
    expect(response.status).toBe(206);
    expect(await response.text()).toBe("01");
  });

  it("answers an unentitled caller 402, not 416, so a range reveals nothing", async () => {
    const { path } = await digits();
    const response = await read(path, uniqueId("nobody"), { Range: "bytes=99-" });
    expect(response.status).toBe(402);
  });
});

describe("GET /library/{path}: conditional requests (RFC 9110 §13)", () => {
  it("answers a matching If-None-Match with 304, validators and no body", async () => {
    const { path, user } = await digits();
    const first = await read(path, user);
    const etag = first.headers.get("ETag") ?? "";
    for (const condition of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const response = await read(path, user, { "If-None-Match": condition });
      expect(response.status).toBe(304);
      expect(response.headers.get("ETag")).toBe(etag);
      expect(response.headers.get("Cache-Control")).toBe("private, no-cache");
      expect(await response.text()).toBe("");
    }
  });

  it("sends the item when If-None-Match names another version", async () => {
    const { path, user } = await digits();
    const response = await read(path, user, { "If-None-Match": '"another-version"' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("0123456789");
  });

  it("answers 412 for a failed If-Match and serves a matching one", async () => {
    const { path, user } = await digits();
    const etag = (await read(path, user)).headers.get("ETag") ?? "";
    const failed = await read(path, user, { "If-Match": '"another-version"' });
    expect(failed.status).toBe(412);
    expect(await failed.json()).toEqual(
      errorBody("precondition_failed", "The item does not match If-Match or If-Unmodified-Since"),
    );
    const matched = await read(path, user, { "If-Match": etag });
    expect(matched.status).toBe(200);
    expect(await matched.text()).toBe("0123456789");
  });

  it("answers If-Modified-Since after the upload with 304", async () => {
    const { path, user } = await digits();
    const later = new Date(Date.now() + 60_000).toUTCString();
    expect((await read(path, user, { "If-Modified-Since": later })).status).toBe(304);
  });

  // Found by the fuzz test (test/integration/fuzz.test.ts): R2 threw on these (500), or read a malformed date
  // as a failed condition (304). A malformed condition is ignored (RFC 9110 §13.1.3-4): the item is served.
  it.each([
    ["If-None-Match", ","],
    ["If-None-Match", "W/"],
    ["If-None-Match", "no-quotes"],
    ["If-Match", "no-quotes"],
    ["If-Match", '"unterminated'],
    ["If-Unmodified-Since", "garbage"],
    ["If-Unmodified-Since", '"x"'],
    ["If-Modified-Since", "2099"],
  ])("ignores a malformed %s (%s) and serves the item", async (name, value) => {
    const { path, user } = await digits();
    const response = await read(path, user, { [name]: value });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("0123456789");
  });
});

describe("GET /library/{path}: path safety", () => {
  it.each([
    ["/library/..%2fsecret", "path: must not contain an encoded /"],
    ["/library/%2e%2e%2fsecret", "path: must not contain an encoded /"],
    ["/library/a/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "path: must not contain an encoded /"],
    ["/library/%2fetc%2fpasswd", "path: must not contain an encoded /"],
    ["/library//etc/passwd", "path: must not be absolute or contain an empty segment"],
    ["/library/a//b", "path: must not be absolute or contain an empty segment"],
    ["/library/a/", "path: must not be absolute or contain an empty segment"],
    ["/library/", "path: names no library item"],
    ["/library/a%5c..%5cb", "path: must not contain a backslash"],
    ["/library/%5cwindows", "path: must not contain a backslash"],
    ["/library/a%00.pdf", "path: must not contain control characters"],
    ["/library/a%0Ab", "path: must not contain control characters"],
    ["/library/a%7Fb", "path: must not contain control characters"],
    ["/library/a%C2%85b", "path: must not contain control characters"],
    ["/library/a%E0%A4%A", "path: is not valid percent-encoding"],
    [`/library/${"a".repeat(1025)}`, "path: must be at most 1024 bytes"],
  ])("refuses %s with 400", async (path, message) => {
    const user = await userWith({ type: "subscription", tier: "monthly", expires_at: FAR });
    const response = await read(path, user);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(errorBody("invalid_path", message));
  });

  // WHATWG URL parsing resolves literal and %2e dot segments before the Worker sees the request: what escapes
  // /library/ is no longer a library route at all (404), and what stays inside is an ordinary key.
  it.each(["/library/../admin/audit", "/library/%2e%2e/admin/audit", "/library/.%2E/x"])(
    "never serves %s from outside the library",
    async (path) => {
      const response = await relay(path, {
        headers: { "CF-Connecting-IP": uniqueIp(), Authorization: `Bearer ${await userJwt("u")}` },
      });
      expect(new URL(path, "https://relay.test").pathname.startsWith("/library/")).toBe(false);
      expect([401, 404]).toContain(response.status);
    },
  );

  it("resolves a dot segment inside the library to the plain key (the URL parser's normalisation)", async () => {
    const dir = uniqueId("dots");
    await stored(`${dir}/b.txt`, "bee", { "X-Library-Sku": "EBOOK" });
    const user = await userWith({ type: "purchase", sku: "EBOOK" });
    const response = await read(`/library/${dir}/a/%2e%2e/./b.txt`, user);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("bee");
  });
});

describe("GET /library", () => {
  async function shelf() {
    const dir = uniqueId("list");
    await stored(`${dir}/a-ebook.txt`, "ebook", { "X-Library-Sku": "EBOOK", "X-Library-Title": "E-book" });
    await stored(`${dir}/b-course.txt`, "course!", { "X-Library-Sku": "my-course" });
    await stored(`${dir}/c-members.txt`, "members", {
      "X-Library-Tier": "quarterly",
      "X-Library-Title": "Members%20only",
    });
    return dir;
  }

  const listed = (dir: string, name: string, size: number, title: string, sku: string | null, tier: string | null) => ({
    key: `${dir}/${name}`,
    title,
    size,
    content_type: "text/plain",
    uploaded_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    sku,
    tier,
  });

  it("lists everything for an active subscriber", async () => {
    const dir = await shelf();
    const user = await userWith({ type: "subscription", tier: "monthly", expires_at: FAR });
    const response = await read(`/library?prefix=${dir}/`, user);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      success: true,
      items: [
        listed(dir, "a-ebook.txt", 5, "E-book", "EBOOK", null),
        listed(dir, "b-course.txt", 7, "b-course.txt", "my-course", null),
        listed(dir, "c-members.txt", 7, "Members only", null, "quarterly"),
      ],
      next_cursor: null,
    });
  });

  it("lists only the bought SKU's items for a buyer", async () => {
    const dir = await shelf();
    const user = await userWith({ type: "purchase", sku: "EBOOK" });
    expect(await (await read(`/library?prefix=${dir}/`, user)).json()).toEqual({
      success: true,
      items: [listed(dir, "a-ebook.txt", 5, "E-book", "EBOOK", null)],
      next_cursor: null,
    });
  });

  it("lists nothing for an expired subscriber or a user without entitlements", async () => {
    const dir = await shelf();
    const expired = await userWith({ type: "subscription", tier: "monthly", expires_at: "2020-01-01T00:00:00.000Z" });
    for (const user of [expired, uniqueId("nobody")]) {
      expect(await (await read(`/library?prefix=${dir}/`, user)).json()).toEqual({
        success: true,
        items: [],
        next_cursor: null,
      });
    }
  });

  it("pages with R2's cursor", async () => {
    const dir = await shelf();
    const user = await userWith({ type: "subscription", tier: "monthly", expires_at: FAR });
    const first = (await (await read(`/library?prefix=${dir}/&limit=2`, user)).json()) as {
      items: Array<{ key: string }>;
      next_cursor: string;
    };
    expect(first.items.map((item) => item.key)).toEqual([`${dir}/a-ebook.txt`, `${dir}/b-course.txt`]);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = (await (
      await read(`/library?prefix=${dir}/&limit=2&cursor=${encodeURIComponent(first.next_cursor)}`, user)
    ).json()) as { items: Array<{ key: string }>; next_cursor: string | null };
    expect(second.items.map((item) => item.key)).toEqual([`${dir}/c-members.txt`]);
    expect(second.next_cursor).toBeNull();
  });

  it("answers 401 without a token and 400 for a bad query", async () => {
    const anonymous = await read("/library");
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual(errorBody("unauthorized", "A user token is required"));
    const user = uniqueId("u");
    const badLimit = await read("/library?limit=0", user);
    expect(badLimit.status).toBe(400);
    expect(await badLimit.json()).toEqual(errorBody("invalid_request", "limit: Too small: expected number to be >=1"));
    const badPrefix = await read("/library?prefix=../x", user);
    expect(await badPrefix.json()).toEqual(errorBody("invalid_request", "prefix: must be a library path"));
  });

  it("shares PUBLIC_RATE_LIMIT's per-IP bucket with the item route", async () => {
    const ip = uniqueIp();
    const auth = { "CF-Connecting-IP": ip, Authorization: `Bearer ${await userJwt(uniqueId("u"))}` };
    const vars = { PUBLIC_RATE_LIMIT: "2" };
    expect((await relay("/library", { headers: auth }, vars)).status).toBe(200);
    expect((await relay("/library/x.pdf", { headers: auth }, vars)).status).toBe(402);
    const limited = await relay("/library", { headers: auth }, vars);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toMatch(/^\d+$/);
    expect(await limited.json()).toEqual(errorBody("rate_limited"));
  });
});
