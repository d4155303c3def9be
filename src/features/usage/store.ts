import type { UsageRow } from "../../admin-api";
import type { UsageGroup, UsageQuery } from "./schema";

type UsageSums = {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_micros: number;
  unpriced_requests: number;
  estimated_requests: number;
};

/** Usage totals of `usage_daily` between two days, grouped, in the order of the groups. */
export async function readUsage(db: D1Database, query: UsageQuery): Promise<UsageRow[]> {
  // The group names are the columns' names, and only these three pass the schema: safe to put into the SQL.
  const columns = query.group_by.join(", ");
  const { results } = await db
    .prepare(
      `SELECT ${columns}, SUM(requests) AS requests, SUM(prompt_tokens) AS prompt_tokens,
        SUM(completion_tokens) AS completion_tokens, SUM(cost_micros) AS cost_micros,
        SUM(unpriced_requests) AS unpriced_requests, SUM(estimated_requests) AS estimated_requests
      FROM usage_daily WHERE day BETWEEN ? AND ? GROUP BY ${columns} ORDER BY ${columns}`,
    )
    .bind(query.from, query.to)
    .all<UsageSums & Partial<Record<UsageGroup, string>>>();
  return results.map((row) => ({
    ...Object.fromEntries(query.group_by.map((group) => [group, row[group]])),
    requests: row.requests,
    prompt_tokens: row.prompt_tokens,
    completion_tokens: row.completion_tokens,
    cost_usd: row.unpriced_requests === row.requests ? null : row.cost_micros / 1e6,
    unpriced_requests: row.unpriced_requests,
    estimated_requests: row.estimated_requests,
  }));
}
