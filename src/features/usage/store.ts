import type { UsageQuery } from "./schema";

/** One row of `GET /admin/usage`: the group's key and its totals, cost in USD. */
export type UsageRow = {
  day?: string;
  subject?: string;
  model?: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
};

const GROUPS = { day: "day", subject: "subject", model: "model" } as const;

/** Usage totals of `usage_daily` between two days, grouped, in the group's order. */
export async function readUsage(db: D1Database, query: UsageQuery): Promise<UsageRow[]> {
  const column = GROUPS[query.group_by];
  const { results } = await db
    .prepare(
      `SELECT ${column} AS grouped, SUM(requests) AS requests, SUM(prompt_tokens) AS prompt_tokens,
        SUM(completion_tokens) AS completion_tokens, SUM(cost_micros) AS cost_micros
      FROM usage_daily WHERE day BETWEEN ? AND ? GROUP BY ${column} ORDER BY ${column}`,
    )
    .bind(query.from, query.to)
    .all<{
      grouped: string;
      requests: number;
      prompt_tokens: number;
      completion_tokens: number;
      cost_micros: number;
    }>();
  return results.map((row) => ({
    [column]: row.grouped,
    requests: row.requests,
    prompt_tokens: row.prompt_tokens,
    completion_tokens: row.completion_tokens,
    cost_usd: row.cost_micros / 1e6,
  }));
}
