import type { AdminApi, AuditCount, ListedKey, PaymentCount, UsageRow } from "../api";
import { messageOf } from "../api";
import { dailyChart, type Line } from "../chart";
import { fill, h, notice, table } from "../dom";
import { formatCount, formatTime, formatUsd, lastDays } from "../format";
import { keyBudgetCells } from "./keys";

type Metric = "requests" | "tokens" | "cost";

const METRICS: Record<Metric, { label: string; of: (row: UsageRow) => number; format: (n: number) => string }> = {
  requests: { label: "Requests", of: (row) => row.requests, format: formatCount },
  tokens: { label: "Tokens", of: (row) => row.prompt_tokens + row.completion_tokens, format: formatCount },
  cost: { label: "Cost (USD, priced models)", of: (row) => row.cost_usd ?? 0, format: formatUsd },
};

/** Lines beyond this many are added up as "others", so a chart stays readable. */
const MAX_LINES = 6;
const DAYS = 30;

/** What a subject is called on the page: a key by its name, a user by id, RELAY_SECRET by name. */
function subjectLabel(subject: string, keys: ListedKey[]): string {
  if (subject.startsWith("key:")) {
    const id = subject.slice(4);
    const key = keys.find((k) => k.id === id);
    return key ? `key “${key.name}” (${id})` : `key ${id}`;
  }
  if (subject.startsWith("user:")) return `user ${subject.slice(5)}`;
  return subject === "relay-secret" ? "RELAY_SECRET" : subject;
}

/** Rows of `group_by=day,<group>` as one line per group value, the largest first, the rest as "others". */
function linesOf(
  rows: UsageRow[],
  group: "model" | "subject",
  days: string[],
  metric: Metric,
  label: (g: string) => string,
) {
  const totals = new Map<string, number>();
  for (const row of rows) totals.set(row[group] ?? "", (totals.get(row[group] ?? "") ?? 0) + METRICS[metric].of(row));
  const ranked = [...totals.keys()].sort((a, b) => (totals.get(b) ?? 0) - (totals.get(a) ?? 0) || a.localeCompare(b));
  const shown = ranked.length > MAX_LINES ? ranked.slice(0, MAX_LINES - 1) : ranked;
  const lines = new Map<string, Line>(shown.map((g) => [g, { label: label(g), values: days.map(() => 0) }]));
  const others: Line = { label: "others", values: days.map(() => 0) };
  for (const row of rows) {
    const line = lines.get(row[group] ?? "") ?? others;
    const index = days.indexOf(row.day ?? "");
    if (index >= 0) line.values[index] = (line.values[index] ?? 0) + METRICS[metric].of(row);
  }
  return ranked.length > shown.length ? [...lines.values(), others] : [...lines.values()];
}

/** A cost as text: an unpriced model's is unknown, never $0; a total with unpriced requests says so. */
function costText(row: UsageRow): string {
  if (row.cost_usd === null) return "unpriced";
  return row.unpriced_requests > 0
    ? `${formatUsd(row.cost_usd)} + ${formatCount(row.unpriced_requests)} unpriced`
    : formatUsd(row.cost_usd);
}

/** Totals per group over the span, every metric: the chart's numbers as text. */
function totalsTable(caption: string, rows: UsageRow[], group: "model" | "subject", label: (g: string) => string) {
  const totals = new Map<string, UsageRow>();
  for (const row of rows) {
    const key = row[group] ?? "";
    const sum = totals.get(key) ?? {
      requests: 0,
      prompt_tokens: 0,
      completion_tokens: 0,
      cost_usd: null,
      unpriced_requests: 0,
      estimated_requests: 0,
    };
    totals.set(key, {
      requests: sum.requests + row.requests,
      prompt_tokens: sum.prompt_tokens + row.prompt_tokens,
      completion_tokens: sum.completion_tokens + row.completion_tokens,
      cost_usd: row.cost_usd === null ? sum.cost_usd : (sum.cost_usd ?? 0) + row.cost_usd,
      unpriced_requests: sum.unpriced_requests + row.unpriced_requests,
      estimated_requests: sum.estimated_requests + row.estimated_requests,
    });
  }
  const sorted = [...totals].sort(([, a], [, b]) => b.requests - a.requests);
  return table(
    caption,
    [group === "model" ? "Model" : "Subject", "Requests", "Tokens", "Cost"],
    sorted.map(([key, sum]) => [
      label(key),
      formatCount(sum.requests),
      formatCount(sum.prompt_tokens + sum.completion_tokens),
      costText(sum),
    ]),
    "No usage in these days.",
  );
}

/**
 * The overview: usage of the last 30 UTC days by model and by subject, budgets used per key this month,
 * refusals and failures from the audit log, and payments received. Five admin calls, made at once.
 */
export async function renderOverview(root: HTMLElement, api: AdminApi): Promise<() => void> {
  const days = lastDays(DAYS);
  const span = { from: days[0], to: days[days.length - 1] };
  const [byModel, bySubject, keys, audit, payments] = await Promise.allSettled([
    api.get<{ rows: UsageRow[] }>("/admin/usage", { ...span, group_by: "day,model" }),
    api.get<{ rows: UsageRow[] }>("/admin/usage", { ...span, group_by: "day,subject" }),
    api.get<{ keys: ListedKey[] }>("/admin/keys"),
    api.get<{ counts: AuditCount[] }>("/admin/audit/summary", span),
    api.get<{ counts: PaymentCount[] }>("/admin/payments", span),
  ]);
  const keyList = keys.status === "fulfilled" ? keys.value.keys : [];
  const cleanups: Array<() => void> = [];

  const metricSelect = h(
    "select",
    { id: "metric" },
    ...(Object.keys(METRICS) as Metric[]).map((m) => h("option", { value: m }, METRICS[m].label)),
  );
  const charts = h("div", { class: "charts" });
  const summary = h("p", { class: "totals" });
  const drawCharts = () => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    fill(charts);
    const metric = metricSelect.value as Metric;
    const format = METRICS[metric].format;
    const byModelRows = byModel.status === "fulfilled" ? byModel.value.rows : [];
    const all = byModelRows.reduce(
      (sum, row) => ({
        requests: sum.requests + row.requests,
        tokens: sum.tokens + row.prompt_tokens + row.completion_tokens,
        cost: sum.cost + (row.cost_usd ?? 0),
      }),
      { requests: 0, tokens: 0, cost: 0 },
    );
    fill(
      summary,
      `${span.from} to ${span.to} (UTC): `,
      h("strong", {}, formatCount(all.requests)),
      " requests, ",
      h("strong", {}, formatCount(all.tokens)),
      " tokens, ",
      h("strong", {}, formatUsd(all.cost)),
      ".",
    );
    for (const [result, group, title] of [
      [byModel, "model", "by model"],
      [bySubject, "subject", "by subject"],
    ] as const) {
      const section = h("section", { class: "chart-block", "data-group": group });
      charts.append(section);
      if (result.status === "rejected") {
        section.append(notice("error", messageOf(result.reason)));
        continue;
      }
      const label = group === "subject" ? (s: string) => subjectLabel(s, keyList) : (m: string) => m;
      const caption = `${METRICS[metric].label} per day ${title}`;
      cleanups.push(dailyChart(section, caption, days, linesOf(result.value.rows, group, days, metric, label), format));
      section.append(totalsTable(`Totals ${title}, last ${DAYS} days`, result.value.rows, group, label));
    }
  };
  metricSelect.addEventListener("change", drawCharts);

  // Active keys, and keys revoked since that spent this month: greyed, and saying so, they still count.
  const budgeted = keyList.filter((key) => key.revoked_at === null || key.month_usage.requests > 0);
  const budgets =
    keys.status === "rejected"
      ? notice("error", messageOf(keys.reason))
      : table(
          "Budgets used this month, per key",
          ["Key", "Requests", "Tokens", "Cost"],
          budgeted.map((key) => [
            key.revoked_at === null
              ? `${key.name} (${key.id})`
              : `${key.name} (${key.id}), revoked ${formatTime(key.revoked_at)}`,
            formatCount(key.month_usage.requests),
            ...keyBudgetCells(key),
          ]),
          "No active keys.",
          { rowClasses: budgeted.map((key) => (key.revoked_at === null ? null : "revoked")) },
        );

  const errors =
    audit.status === "rejected"
      ? notice("error", messageOf(audit.reason))
      : table(
          "Refusals (4xx) and failures (5xx) in the audit log, last 30 days",
          ["Actor", "Action", "Outcome", "Count"],
          audit.value.counts
            .filter((row) => /^(refused|failed):/.test(row.outcome))
            .map((row) => [row.actor, row.action, row.outcome, formatCount(row.count)]),
          "No refusals or failures.",
        );

  let paymentsBlock: HTMLElement;
  if (payments.status === "rejected") paymentsBlock = notice("error", messageOf(payments.reason));
  else {
    const counts = payments.value.counts;
    const received = counts.filter((row) => row.type === "grant" || row.type === "renew");
    const sum = (rows: PaymentCount[]) => rows.reduce((total, row) => total + row.count, 0);
    paymentsBlock = h(
      "div",
      {},
      h(
        "p",
        { class: "totals" },
        h("strong", {}, formatCount(sum(received))),
        " payments received (purchases, subscriptions and renewals), ",
        h("strong", {}, formatCount(sum(counts.filter((row) => row.type === "revoke")))),
        " refunds, ",
        h("strong", {}, formatCount(sum(counts.filter((row) => row.type === "cancel")))),
        " cancellations.",
      ),
      table(
        "Payment events per day",
        ["Day", "Source", "Event", "What", "Count"],
        counts.map((row) => [
          row.day,
          row.source,
          row.type,
          row.entitlement === "subscription" ? `${row.tier} subscription` : `purchase of ${row.sku}`,
          formatCount(row.count),
        ]),
        "No payments in these days.",
      ),
    );
  }

  fill(
    root,
    h(
      "section",
      { "aria-labelledby": "usage-heading" },
      h("h3", { id: "usage-heading" }, `Usage, last ${DAYS} days`),
      summary,
      h("p", { class: "inline" }, h("label", { for: "metric" }, "Show"), metricSelect),
      charts,
    ),
    h("section", { "aria-labelledby": "budget-heading" }, h("h3", { id: "budget-heading" }, "Budgets"), budgets),
    h("section", { "aria-labelledby": "errors-heading" }, h("h3", { id: "errors-heading" }, "Errors"), errors),
    h(
      "section",
      { "aria-labelledby": "payments-heading" },
      h("h3", { id: "payments-heading" }, "Payments"),
      paymentsBlock,
    ),
  );
  drawCharts();
  return () => {
    for (const cleanup of cleanups) cleanup();
  };
}
