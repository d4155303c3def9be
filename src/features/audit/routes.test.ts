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
