import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN } from "../../../test/secrets";
import { errorBody, relay, uniqueId, uniqueIp } from "../../../test/support/relay";

function usage(query: string) {
  return relay(`/admin/usage?${query}`, {
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "CF-Connecting-IP": uniqueIp() },
  });
}

async function rows(query: string) {
  return ((await (await usage(query)).json()) as { rows: unknown[] }).rows;
}

/** Writes usage rows as a Meter would; each test uses a year of its own, so other tests' rows never mix in. */
async function seed(
  rows: Array<
    [
      day: string,
      subject: string,
      model: string,
      requests: number,
      p: number,
      c: number,
      micros: number,
      unpriced?: number,
      estimated?: number,
    ]
  >,
) {
  await env.DB.batch(
    rows.map(([day, subject, model, requests, p, c, micros, unpriced = 0, estimated = 0]) =>
      env.DB.prepare(
        `INSERT INTO usage_daily (day, subject, model, requests, prompt_tokens, completion_tokens, cost_micros,
          unpriced_requests, estimated_requests)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).bind(day, subject, model, requests, p, c, micros, unpriced, estimated),
    ),
  );
}

describe("GET /admin/usage", () => {
  it("shows a model without a price as unpriced (cost null), never as $0, and counts estimated requests", async () => {
    const a = uniqueId("key:a");
    await seed([
      ["2012-06-01", a, "toString", 2, 20, 10, 0, 2, 0],
      ["2012-06-01", a, "gpt-4o-mini", 3, 30, 15, 14, 0, 1],
    ]);
    expect(await rows("from=2012-06-01&to=2012-06-01&group_by=model")).toEqual([
      {
        model: "gpt-4o-mini",
        requests: 3,
        prompt_tokens: 30,
        completion_tokens: 15,
        cost_usd: 0.000014,
        unpriced_requests: 0,
        estimated_requests: 1,
      },
      {
        model: "toString",
        requests: 2,
        prompt_tokens: 20,
        completion_tokens: 10,
        cost_usd: null,
        unpriced_requests: 2,
        estimated_requests: 0,
      },
    ]);
    // A subject's row with priced and unpriced requests: the cost of those priced, and how many were not.
    expect(await rows("from=2012-06-01&to=2012-06-01&group_by=subject")).toEqual([
      {
        subject: a,
        requests: 5,
        prompt_tokens: 50,
        completion_tokens: 25,
        cost_usd: 0.000014,
        unpriced_requests: 2,
        estimated_requests: 1,
      },
    ]);
  });

  it("adds up a span of days (both ends included) by day, by subject or by model, in order", async () => {
    const a = uniqueId("key:a");
    const b = uniqueId("key:b");
    await seed([
      ["2001-03-01", a, "gpt-4o-mini", 2, 100, 40, 39],
      ["2001-03-01", a, "gpt-4o", 1, 10, 5, 75],
      ["2001-03-02", b, "gpt-4o-mini", 3, 30, 30, 23],
      ["2001-03-03", a, "gpt-4o-mini", 1, 1, 1, 1],
      ["2001-02-28", a, "gpt-4o-mini", 9, 9, 9, 9],
    ]);
    expect(await rows("from=2001-03-01&to=2001-03-02&group_by=day")).toEqual([
      {
        day: "2001-03-01",
        requests: 3,
        prompt_tokens: 110,
        completion_tokens: 45,
        cost_usd: 0.000114,
        unpriced_requests: 0,
        estimated_requests: 0,
      },
      {
        day: "2001-03-02",
        requests: 3,
        prompt_tokens: 30,
        completion_tokens: 30,
        cost_usd: 0.000023,
        unpriced_requests: 0,
        estimated_requests: 0,
      },
    ]);
    expect(await rows("from=2001-03-01&to=2001-03-03&group_by=subject")).toEqual([
      {
        subject: a,
        requests: 4,
        prompt_tokens: 111,
        completion_tokens: 46,
        cost_usd: 0.000115,
        unpriced_requests: 0,
        estimated_requests: 0,
      },
      {
        subject: b,
        requests: 3,
        prompt_tokens: 30,
        completion_tokens: 30,
        cost_usd: 0.000023,
        unpriced_requests: 0,
        estimated_requests: 0,
      },
    ]);
    expect(await rows("from=2001-03-01&to=2001-03-03&group_by=model")).toEqual([
      {
        model: "gpt-4o",
        requests: 1,
        prompt_tokens: 10,
        completion_tokens: 5,
        cost_usd: 0.000075,
        unpriced_requests: 0,
        estimated_requests: 0,
      },
      {
        model: "gpt-4o-mini",
        requests: 6,
        prompt_tokens: 131,
        completion_tokens: 71,
        cost_usd: 0.000063,
        unpriced_requests: 0,
        estimated_requests: 0,
      },
    ]);
  });

  it("groups by two or three keys at once (group_by=day,model), in the order named", async () => {
    const a = uniqueId("key:a");
    const b = uniqueId("key:b");
    await seed([
      ["2005-05-01", a, "gpt-4o-mini", 2, 100, 40, 39],
      ["2005-05-01", b, "gpt-4o-mini", 1, 10, 5, 7],
      ["2005-05-01", a, "gpt-4o", 1, 10, 5, 75],
      ["2005-05-02", b, "gpt-4o-mini", 3, 30, 30, 23],
    ]);
    expect(await rows("from=2005-05-01&to=2005-05-02&group_by=day,model")).toEqual([
      {
        day: "2005-05-01",
        model: "gpt-4o",
        requests: 1,
        prompt_tokens: 10,
        completion_tokens: 5,
        cost_usd: 0.000075,
        unpriced_requests: 0,
        estimated_requests: 0,
      },
      {
        day: "2005-05-01",
        model: "gpt-4o-mini",
        requests: 3,
        prompt_tokens: 110,
        completion_tokens: 45,
        cost_usd: 0.000046,
        unpriced_requests: 0,
        estimated_requests: 0,
      },
      {
        day: "2005-05-02",
        model: "gpt-4o-mini",
        requests: 3,
        prompt_tokens: 30,
        completion_tokens: 30,
        cost_usd: 0.000023,
        unpriced_requests: 0,
        estimated_requests: 0,
      },
    ]);
    expect(await rows("from=2005-05-01&to=2005-05-02&group_by=subject,day")).toEqual([
      {
        subject: a,
        day: "2005-05-01",
        requests: 3,
        prompt_tokens: 110,
        completion_tokens: 45,
        cost_usd: 0.000114,
        unpriced_requests: 0,
        estimated_requests: 0,
      },
      {
        subject: b,
        day: "2005-05-01",
        requests: 1,
        prompt_tokens: 10,
        completion_tokens: 5,
        cost_usd: 0.000007,
        unpriced_requests: 0,
        estimated_requests: 0,
      },
      {
        subject: b,
        day: "2005-05-02",
        requests: 3,
        prompt_tokens: 30,
        completion_tokens: 30,
        cost_usd: 0.000023,
        unpriced_requests: 0,
        estimated_requests: 0,
      },
    ]);
    expect(await rows("from=2005-05-02&to=2005-05-02&group_by=day,subject,model")).toEqual([
      {
        day: "2005-05-02",
        subject: b,
        model: "gpt-4o-mini",
        requests: 3,
        prompt_tokens: 30,
        completion_tokens: 30,
        cost_usd: 0.000023,
        unpriced_requests: 0,
        estimated_requests: 0,
      },
    ]);
  });

  it("groups by day unless told otherwise, and answers an empty span with no rows", async () => {
    await seed([["2002-07-04", uniqueId("key"), "gpt-4o", 1, 2, 3, 4]]);
    const response = await usage("from=2002-07-04&to=2002-07-04");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      success: true,
      rows: [
        {
          day: "2002-07-04",
          requests: 1,
          prompt_tokens: 2,
          completion_tokens: 3,
          cost_usd: 0.000004,
          unpriced_requests: 0,
          estimated_requests: 0,
        },
      ],
    });
    expect(await (await usage("from=2003-01-01&to=2003-12-31")).json()).toEqual({ success: true, rows: [] });
  });

  it.each([
    ["no span", "group_by=day", "from: "],
    ["a day that is not YYYY-MM-DD", "from=2026-1-01&to=2026-01-31", "from: must be a day, YYYY-MM-DD"],
    ["a day that does not exist", "from=2026-02-30&to=2026-03-01", "from: must be a real date"],
    ["from after to", "from=2026-03-02&to=2026-03-01", "from: must not be after to"],
    ["a span over 366 days", "from=2024-01-01&to=2025-01-01", "to: the span may cover at most 366 days"],
    ["an unknown grouping", "from=2026-01-01&to=2026-01-01&group_by=key", "group_by: must be day, subject or model"],
    ["an unknown grouping among others", "from=2026-01-01&to=2026-01-01&group_by=day,key", "group_by: must be day"],
    ["an empty grouping", "from=2026-01-01&to=2026-01-01&group_by=day,", "group_by: must be day"],
    ["a grouping named twice", "from=2026-01-01&to=2026-01-01&group_by=day,day", "group_by: must not name"],
    ["an unknown parameter", "from=2026-01-01&to=2026-01-01&limit=5", "limit: is not a field this route accepts"],
  ])("answers 400 for %s", async (_, query, message) => {
    const response = await usage(query);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string } };
    expect(body).toEqual(errorBody("invalid_request"));
    expect(body.error.message).toContain(message);
  });

  it("takes the whole of a leap year: 366 days", async () => {
    expect((await usage("from=2024-01-01&to=2024-12-31")).status).toBe(200);
  });
});
