import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CHATGPT_BEARER_TOKEN } from "../../../test/secrets";
import { errorBody, relay, uniqueId, uniqueIp } from "../../../test/support/relay";
import { writeAudit } from "../../audit/store";

const ADMIN_TOKEN = "test-admin-token";
const vars = { ADMIN_TOKEN };

type Page = {
  success: true;
  records: Array<{ at: string; actor: string; action: string; target: string; outcome: string; dry_run: boolean }>;
  next_cursor: string | null;
};

async function read(query: string, token: string | null = ADMIN_TOKEN, overrides = vars) {
  const headers: Record<string, string> = { "CF-Connecting-IP": uniqueIp() };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const response = await relay(`/admin/audit${query}`, { headers }, overrides);
  return { response, json: (await response.json()) as Page & Record<string, unknown> };
}

describe("GET /admin/audit", () => {
  it("pages through the records newest first, in the documented shape", async () => {
    const actor = uniqueId("actor");
    for (let i = 1; i <= 5; i++) {
      await writeAudit(env.DB, {
        at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
        actor,
        action: "trigger",
        target: `octo/hive:${i}`,
        outcome: i === 3 ? "dry_run" : "ok",
        dryRun: i === 3,
        requestId: `r${i}`,
      });
    }
    const seen: Page["records"] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const { response, json } = await read(`?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(response.status).toBe(200);
      expect(json.success).toBe(true);
      expect(json.records.length).toBeLessThanOrEqual(2);
      seen.push(...json.records.filter((record) => record.actor === actor));
      cursor = json.next_cursor;
      pages += 1;
    } while (cursor !== null && seen.length < 5 && pages < 100);

    expect(seen.map((record) => record.target)).toEqual([5, 4, 3, 2, 1].map((i) => `octo/hive:${i}`));
    expect(seen[2]).toEqual({
      at: "2026-01-01T00:00:03.000Z",
      actor,
      action: "trigger",
      target: "octo/hive:3",
      outcome: "dry_run",
      dry_run: true,
    });
  });

  it("filters by actor and action, paging within the filter", async () => {
    const actor = uniqueId("filtered");
    const rows: Array<[string, string]> = [
      [actor, "grant"],
      ["someone-else", "grant"],
      [actor, "revoke"],
      [actor, "grant"],
      [actor, "grant"],
    ];
    for (const [i, [who, action]] of rows.entries()) {
      await writeAudit(env.DB, {
        at: new Date(Date.UTC(2026, 1, 1, 0, 0, i)),
        actor: who,
        action,
        target: `user:${i}`,
        outcome: "ok",
      });
    }
    const first = await read(`?limit=2&actor=${actor}&action=grant`);
    expect(first.response.status).toBe(200);
    expect(first.json.records.map((record) => record.target)).toEqual(["user:4", "user:3"]);
    expect(first.json.next_cursor).not.toBeNull();
    const second = await read(`?limit=2&actor=${actor}&action=grant&cursor=${first.json.next_cursor}`);
    expect(second.json.records.map((record) => record.target)).toEqual(["user:0"]);
    expect(second.json.next_cursor).toBeNull();
    const byActor = await read(`?actor=${actor}`);
    expect(byActor.json.records.map((record) => record.action)).toEqual(["grant", "grant", "revoke", "grant"]);
    expect((await read(`?actor=${actor}&action=webhook`)).json).toEqual({
      success: true,
      records: [],
      next_cursor: null,
    });
  });

  it("ends with next_cursor null", async () => {
    await writeAudit(env.DB, { at: new Date(), actor: "admin", action: "grant", target: "user:x", outcome: "ok" });
    const { json } = await read("?limit=200&cursor=2");
    expect(json.next_cursor).toBeNull();
  });

  it.each([
    ["limit", "?limit=0"],
    ["limit", "?limit=201"],
    ["limit", "?limit=ten"],
    ["cursor", "?cursor=-1"],
    ["cursor", "?cursor=abc"],
    ["actor", "?actor="],
    ["action", `?action=${"a".repeat(301)}`],
  ])("answers 400 naming %s for %s", async (field, query) => {
    const { response, json } = await read(query);
    expect(response.status).toBe(400);
    expect(json).toEqual(errorBody("invalid_request"));
    expect((json.error as { message: string }).message).toMatch(new RegExp(`^${field}: `));
  });

  it.each([
    ["no token", null],
    ["a wrong token", "nope"],
    // ADMIN_TOKEN is separate on purpose (docs/api.md, "Configuration"): a ChatGPT action must never reach admin routes.
    ["the ChatGPT token", CHATGPT_BEARER_TOKEN],
  ])("answers 401 with %s", async (_, token) => {
    const { response, json } = await read("", token);
    expect(response.status).toBe(401);
    expect(json).toEqual(errorBody("unauthorized"));
  });

  it("answers 503 naming ADMIN_TOKEN when it is unset", async () => {
    const { response, json } = await read("", "anything", { ADMIN_TOKEN: "" });
    expect(response.status).toBe(503);
    expect(json).toEqual(errorBody("not_configured", "The relay is not configured: ADMIN_TOKEN is not set"));
  });
});

describe("GET /admin/audit/summary", () => {
  async function summary(query: string) {
    const response = await relay(
      `/admin/audit/summary${query}`,
      { headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "CF-Connecting-IP": uniqueIp() } },
      vars,
    );
    return { response, json: (await response.json()) as Record<string, unknown> };
  }

  it("counts the records of a span of UTC days (both ends whole) by actor, action and outcome, most first", async () => {
    const actor = uniqueId("counted");
    const at = (iso: string, action: string, outcome: string) =>
      writeAudit(env.DB, { at: new Date(iso), actor, action, target: "octo/hive", outcome });
    await at("2007-08-01T00:00:00.000Z", "trigger", "ok");
    await at("2007-08-01T13:00:00.000Z", "trigger", "refused:unauthorized");
    await at("2007-08-02T23:59:59.999Z", "trigger", "refused:unauthorized");
    await at("2007-08-02T10:00:00.000Z", "comment", "failed:upstream_error");
    await at("2007-07-31T23:59:59.999Z", "trigger", "ok");
    await at("2007-08-03T00:00:00.000Z", "trigger", "ok");
    const { response, json } = await summary("?from=2007-08-01&to=2007-08-02");
    expect(response.status).toBe(200);
    expect(json.from).toBe("2007-08-01");
    expect(json.to).toBe("2007-08-02");
    expect((json.counts as Array<{ actor: string }>).filter((row) => row.actor === actor)).toEqual([
      { actor, action: "trigger", outcome: "refused:unauthorized", count: 2 },
      { actor, action: "comment", outcome: "failed:upstream_error", count: 1 },
      { actor, action: "trigger", outcome: "ok", count: 1 },
    ]);
  });

  it.each([
    ["no span", "", "from: "],
    ["from after to", "?from=2026-03-02&to=2026-03-01", "from: must not be after to"],
    ["a span over 366 days", "?from=2024-01-01&to=2025-01-01", "to: the span may cover at most 366 days"],
    ["an unknown parameter", "?from=2026-01-01&to=2026-01-01&actor=x", "actor: is not a field this route accepts"],
  ])("answers 400 for %s", async (_, query, message) => {
    const { response, json } = await summary(query);
    expect(response.status).toBe(400);
    expect(json).toEqual(errorBody("invalid_request"));
    expect((json.error as { message: string }).message).toContain(message);
  });
});
