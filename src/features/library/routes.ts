import { Hono } from "hono";
import type { AppEnv } from "../../env";
import { NotFound } from "../../errors";
import { validate } from "../../lib/request";
import { mount, type RouteSpec } from "../../middleware/guard";
import { readEntitlements } from "../ledger/read";
import { ledgerOf } from "../ledger/routes";
import { requireUser } from "../ledger/user";
import { isSubscriber, mayRead, paymentRequired, requirementOf } from "./access";
import { assertPreconditions, conditionalHeaders, itemResponse, notModified, rangeOf } from "./http";
import { itemOf } from "./item";
import { keyFromPath, pathAfter } from "./key";
import { listQuery } from "./schema";
import { libraryUpload, uploadRoutes } from "./upload";

/** The private library: R2 items served only to entitled users, and the admin's listing and upload. */
export const libraryRoutes = {
  libraryList: { method: "GET", path: "/library", auth: "user-jwt", rateLimit: "public", body: null },
  libraryItem: { method: "GET", path: "/library/*", auth: "user-jwt", rateLimit: "public", body: null },
  libraryAdminList: { method: "GET", path: "/admin/library", auth: "admin", rateLimit: "admin", body: null },
  ...uploadRoutes,
} as const satisfies Record<string, RouteSpec>;

export const library = new Hono<AppEnv>();

mount(library, libraryRoutes.libraryList, async (c) => {
  const now = new Date();
  const user = await requireUser(c, now);
  const query = validate(listQuery, c.req.query());
  const entitlements = await readEntitlements(ledgerOf(c.env), user, now);
  if (!entitlements.has_access) return c.json({ success: true, items: [], next_cursor: null });
  const page = await c.env.LIBRARY.list({
    prefix: query.prefix,
    cursor: query.cursor,
    limit: query.limit,
    include: ["customMetadata", "httpMetadata"],
  });
  const items = page.objects.filter((object) => mayRead(entitlements, requirementOf(object.customMetadata)));
  return c.json({ success: true, items: items.map(itemOf), next_cursor: page.truncated ? page.cursor : null });
});

// The admin sees every item, whoever may read it.
mount(library, libraryRoutes.libraryAdminList, async (c) => {
  const query = validate(listQuery, c.req.query());
  const page = await c.env.LIBRARY.list({
    prefix: query.prefix,
    cursor: query.cursor,
    limit: query.limit,
    include: ["customMetadata", "httpMetadata"],
  });
  return c.json({ success: true, items: page.objects.map(itemOf), next_cursor: page.truncated ? page.cursor : null });
});

// Order of checks (docs/api.md, "Private library"): rate limit, user token (401), path (400), entitlements and
// the item's metadata (402 / 404), then Range (416) and conditionals (304 / 412). Only an active subscriber,
// who may read everything, learns that an item is missing; to everyone else a missing item is a 402.
mount(library, libraryRoutes.libraryItem, async (c) => {
  const now = new Date();
  const user = await requireUser(c, now);
  const key = keyFromPath(pathAfter(c.req.url, libraryRoutes.libraryItem.path));
  const entitlements = await readEntitlements(ledgerOf(c.env), user, now);
  const head = await c.env.LIBRARY.head(key);
  if (head === null) {
    if (isSubscriber(entitlements)) throw new NotFound(`No library item ${key}`, "item_not_found");
    throw paymentRequired(c.env, undefined, user.id);
  }
  const requirement = requirementOf(head.customMetadata);
  if (!mayRead(entitlements, requirement)) throw paymentRequired(c.env, requirement, user.id);

  const range = rangeOf(c.req.raw.headers, head);
  const conditions = conditionalHeaders(c.req.raw.headers);
  const item = await c.env.LIBRARY.get(key, { range, onlyIf: conditions });
  // Replaced or deleted since head(): decide again on what get() returned.
  if (item === null) throw new NotFound(`No library item ${key}`, "item_not_found");
  if (!mayRead(entitlements, requirementOf(item.customMetadata))) {
    if ("body" in item) await item.body.cancel();
    throw paymentRequired(c.env, requirementOf(item.customMetadata), user.id);
  }
  if (!("body" in item)) {
    assertPreconditions(conditions, item);
    return notModified(item);
  }
  return itemResponse(item, range);
});

library.route("/", libraryUpload);
