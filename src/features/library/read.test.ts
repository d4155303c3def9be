import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN } from "../../../test/secrets";
import { grant, userJwt } from "../../../test/support/ledger";
import { FAR, paymentRequiredBody, read, revoke, stored, userWith } from "../../../test/support/library";
import { atClock, errorBody, relay, uniqueId, uniqueIp } from "../../../test/support/relay";

const PAST = "2020-01-01T00:00:00.000Z";

/** A fresh folder with one EBOOK item, one my-course item and one subscribers-only item. */
async function shelf() {
  const dir = uniqueId("shelf");
  await stored(`${dir}/ebook.txt`, "the e-book", { "X-Library-Sku": "EBOOK", "X-Library-Title": "The%20E-book" });
  await stored(`${dir}/course.txt`, "the course", { "X-Library-Sku": "my-course" });
  await stored(`${dir}/members.txt`, "members only", { "X-Library-Tier": "yearly" });
  return dir;
}

async function expectBody(response: Response, status: number, text: string) {
  expect(response.status).toBe(status);
  expect(await response.text()).toBe(text);
}

describe("GET /library/{path}: who may read what", () => {
  it("serves an active subscriber every item, whatever its SKU or tier", async () => {
    const dir = await shelf();
    const user = await userWith({ type: "subscription", tier: "monthly", expires_at: FAR });
    await expectBody(await read(`/library/${dir}/ebook.txt`, user), 200, "the e-book");
    await expectBody(await read(`/library/${dir}/course.txt`, user), 200, "the course");
    await expectBody(await read(`/library/${dir}/members.txt`, user), 200, "members only");
  });

  it("serves a buyer of EBOOK the EBOOK item and refuses the rest with 402 and their links", async () => {
    const dir = await shelf();
    const user = await userWith({ type: "purchase", sku: "EBOOK" });
    await expectBody(await read(`/library/${dir}/ebook.txt`, user), 200, "the e-book");
    const course = await read(`/library/${dir}/course.txt`, user);
    expect(course.status).toBe(402);
    expect(course.headers.get("Cache-Control")).toBe("no-store");
    expect(await course.json()).toEqual(paymentRequiredBody(user, "my-course"));
    const members = await read(`/library/${dir}/members.txt`, user);
    expect(members.status).toBe(402);
    expect(await members.json()).toEqual(paymentRequiredBody(user));
  });

  it("refuses a buyer of another SKU with 402 offering the item's SKU", async () => {
    const dir = await shelf();
    const user = await userWith({ type: "purchase", sku: "my-course" });
    const response = await read(`/library/${dir}/ebook.txt`, user);
    expect(response.status).toBe(402);
    expect(await response.json()).toEqual(paymentRequiredBody(user, "EBOOK"));
  });

  it("refuses an expired subscriber with 402", async () => {
    const dir = await shelf();
    const user = await userWith({ type: "subscription", tier: "yearly", expires_at: PAST });
    const response = await read(`/library/${dir}/members.txt`, user);
    expect(response.status).toBe(402);
    expect(await response.json()).toEqual(paymentRequiredBody(user));
  });

  it("refuses a user with no entitlement at all with 402", async () => {
    const dir = await shelf();
    const user = uniqueId("nobody");
    const response = await read(`/library/${dir}/ebook.txt`, user);
    expect(response.status).toBe(402);
    expect(await response.json()).toEqual(paymentRequiredBody(user, "EBOOK"));
  });

  it("answers 401 without a token and with a bad one, before looking at the path", async () => {
    const dir = await shelf();
    const anonymous = await read(`/library/${dir}/ebook.txt`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("WWW-Authenticate")).toBe('Bearer realm="relay"');
    expect(await anonymous.json()).toEqual(errorBody("unauthorized", "A user token is required"));
    const forged = await read("/library/%2e%2e%2fsecret", undefined, {
      Authorization: `Bearer ${await userJwt("u", { secret: "not-the-secret-0123456789abcdef" })}`,
    });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toEqual(errorBody("unauthorized", "Invalid or expired user token"));
  });

  // Found by the fuzz test (test/integration/fuzz.test.ts): both used to answer 500 (KV refused the key).
  it("answers 401 for a token whose sub is not well-formed Unicode, and 402 for a sub too long for KV", async () => {
    const dir = await shelf();
    for (const path of ["/library", `/library/${dir}/ebook.txt`]) {
      const broken = await read(path, "a\ud800b");
      expect(broken.status).toBe(401);
      expect(await broken.json()).toEqual(errorBody("unauthorized", "Invalid or expired user token"));
    }
    const long = "x".repeat(600);
    const list = await read("/library", long);
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual({ success: true, items: [], next_cursor: null });
    expect((await read(`/library/${dir}/ebook.txt`, long)).status).toBe(402);
  });

  it("refuses a revoked subscription with 402 on the very next request, even a revalidation", async () => {
    const dir = await shelf();
    const user = await userWith({ type: "subscription", tier: "monthly", expires_at: FAR });
    const first = await read(`/library/${dir}/members.txt`, user);
    await expectBody(first, 200, "members only");
    await revoke({ user_id: user, type: "subscription", tier: "monthly" });
    const etag = first.headers.get("ETag") ?? "";
    const next = await read(`/library/${dir}/members.txt`, user, { "If-None-Match": etag });
    expect(next.status).toBe(402);
    expect(await next.json()).toEqual(paymentRequiredBody(user));
  });

  it("refuses a refunded purchase with 402 on the very next request", async () => {
    const dir = await shelf();
    const user = await userWith({ type: "purchase", sku: "EBOOK" });
    await expectBody(await read(`/library/${dir}/ebook.txt`, user), 200, "the e-book");
    await revoke({ user_id: user, type: "purchase", sku: "EBOOK" });
    const next = await read(`/library/${dir}/ebook.txt`, user);
    expect(next.status).toBe(402);
    expect(await next.json()).toEqual(paymentRequiredBody(user, "EBOOK"));
  });

  it("refuses a subscription with 402 the moment it expires", async () => {
    const dir = await shelf();
    const user = uniqueId("expiring");
    const expiresAt = "2031-03-01T12:00:00.000Z";
    expect((await grant({ user_id: user, type: "subscription", tier: "monthly", expires_at: expiresAt })).status).toBe(
      200,
    );
    // The clock is set, not waited for: a millisecond before the expiry the item is served, at it no more.
    await atClock("2031-03-01T11:59:59.999Z", async () =>
      expectBody(await read(`/library/${dir}/members.txt`, user), 200, "members only"),
    );
    await atClock(expiresAt, async () => {
      const response = await read(`/library/${dir}/members.txt`, user);
      expect(response.status).toBe(402);
      expect(await response.json()).toEqual(paymentRequiredBody(user));
    });
  });
});

describe("GET /library/{path}: a missing item", () => {
  it("is a 404 for an active subscriber, who may read everything", async () => {
    const user = await userWith({ type: "subscription", tier: "monthly", expires_at: FAR });
    const response = await read("/library/no/such/item.pdf", user);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual(errorBody("item_not_found", "No library item no/such/item.pdf"));
  });

  it("is the same 402 as a subscribers-only item for everyone else, so existence does not leak", async () => {
    const dir = await shelf();
    const user = await userWith({ type: "purchase", sku: "EBOOK" });
    const missing = await read(`/library/${dir}/missing.txt`, user);
    const existing = await read(`/library/${dir}/members.txt`, user);
    expect(missing.status).toBe(402);
    expect(existing.status).toBe(402);
    const body = await missing.text();
    expect(body).toBe(await existing.text());
    expect(JSON.parse(body)).toEqual(paymentRequiredBody(user));
  });
});

describe("GET /library/{path}: the answer", () => {
  it("streams the item with its type, length, ETag and private revalidating cache headers", async () => {
    const dir = uniqueId("shelf");
    await stored(`${dir}/notes.md`, "# héllo", { "X-Library-Tier": "monthly", "Content-Type": "text/markdown" });
    const user = await userWith({ type: "subscription", tier: "monthly", expires_at: FAR });
    const response = await read(`/library/${dir}/notes.md`, user);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/markdown");
    expect(response.headers.get("Content-Length")).toBe("8");
    expect(response.headers.get("ETag")).toMatch(/^"[0-9a-f]{32}"$/);
    expect(response.headers.get("Accept-Ranges")).toBe("bytes");
    expect(response.headers.get("Cache-Control")).toBe("private, no-cache");
    expect(response.headers.get("Last-Modified")).toMatch(/ GMT$/);
    expect(await response.text()).toBe("# héllo");
  });

  it("finds a key with spaces and non-ASCII letters, percent-encoded or not, in Unicode NFC", async () => {
    const dir = uniqueId("shelf");
    await stored(`${dir}/Cr%C3%A8me%20br%C3%BBl%C3%A9e.txt`, "dessert", { "X-Library-Sku": "EBOOK" });
    const user = await userWith({ type: "purchase", sku: "EBOOK" });
    await expectBody(await read(`/library/${dir}/Cr%C3%A8me%20br%C3%BBl%C3%A9e.txt`, user), 200, "dessert");
    // The same name in NFD (e + combining grave accent) finds the same item.
    await expectBody(await read(`/library/${dir}/Cre%CC%80me%20bru%CC%82le%CC%81e.txt`, user), 200, "dessert");
  });
});

describe("GET /admin/library", () => {
  async function adminList(query: string) {
    const response = await relay(`/admin/library${query}`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "CF-Connecting-IP": uniqueIp() },
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  it("lists every item with its SKU or tier, whoever may read it, one page at a time", async () => {
    const dir = await shelf();
    const first = await adminList(`?prefix=${dir}/&limit=2`);
    expect(first.status).toBe(200);
    expect(first.json).toEqual({
      success: true,
      items: [
        {
          key: `${dir}/course.txt`,
          title: "course.txt",
          size: 10,
          content_type: "text/plain",
          uploaded_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          sku: "my-course",
          tier: null,
        },
        expect.objectContaining({ key: `${dir}/ebook.txt`, title: "The E-book", sku: "EBOOK", tier: null }),
      ],
      next_cursor: expect.any(String),
    });
    const second = await adminList(
      `?prefix=${dir}/&limit=2&cursor=${encodeURIComponent(String(first.json.next_cursor))}`,
    );
    expect(second.json).toEqual({
      success: true,
      items: [expect.objectContaining({ key: `${dir}/members.txt`, sku: null, tier: "yearly" })],
      next_cursor: null,
    });
  });

  it("refuses a user token: the listing is the admin's", async () => {
    const dir = await shelf();
    const user = await userWith({ type: "subscription", tier: "yearly", expires_at: FAR });
    const response = await read(`/admin/library?prefix=${dir}/`, user);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual(errorBody("unauthorized"));
  });

  it("answers 400 naming a bad limit", async () => {
    const { status, json } = await adminList("?limit=0");
    expect(status).toBe(400);
    expect((json.error as { message: string }).message).toMatch(/^limit: /);
  });
});
