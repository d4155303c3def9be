import { describe, expect, it } from "vitest";
import { postConnector } from "../../../test/support/connector";
import { auditRowsOf, errorBody } from "../../../test/support/relay";

const repo = { owner: "octo", repo: "hivemind" };

function firstMessage(json: Record<string, unknown>): string {
  return (json.error as { message: string }).message;
}

describe("POST /chatgpt/prs/list", () => {
  it("lists trimmed pull requests and reports has_more from GitHub's Link header", async () => {
    const { response, json, received } = await postConnector("/chatgpt/prs/list", {
      ...repo,
      state: "all",
      per_page: 2,
      page: 2,
    });
    expect(response.status).toBe(200);
    const pull = (n: number) => ({
      number: n,
      title: `Pull request ${n}`,
      state: "open",
      draft: n % 2 === 0,
      user: `dev${n}`,
      head: { ref: `feature-${n}`, sha: `head${n}` },
      base: { ref: "main", sha: "base0" },
      labels: ["kora"],
      html_url: `https://github.com/octo/hivemind/pull/${n}`,
      created_at: "2026-01-01T00:00:00Z",
      updated_at: "2026-01-02T00:00:00Z",
    });
    expect(json).toEqual({ success: true, pull_requests: [pull(3), pull(4)], page: 2, has_more: true });
    expect((await received()).map(({ method, path, query, body }) => ({ method, path, query, body }))).toEqual([
      {
        method: "GET",
        path: "/repos/octo/hivemind/pulls",
        query: { state: "all", per_page: "2", page: "2" },
        body: null,
      },
    ]);
    expect(await auditRowsOf(response)).toEqual([]);
  });

  it("uses GitHub's defaults (open, 30 per page, page 1) and says when there is no next page", async () => {
    const { json, received } = await postConnector("/chatgpt/prs/list", repo);
    expect(json).toMatchObject({ success: true, page: 1, has_more: false });
    expect((json.pull_requests as unknown[]).length).toBe(5);
    expect((await received())[0]?.query).toEqual({ state: "open", per_page: "30", page: "1" });
  });

  it.each([
    ["state", { state: "merged" }],
    ["per_page", { per_page: 101 }],
    ["per_page", { per_page: 0 }],
    ["page", { page: 0 }],
    ["page", { page: "2" }],
  ])("answers 400 naming %s and sends nothing", async (field, change) => {
    const { response, json, received } = await postConnector("/chatgpt/prs/list", { ...repo, ...change });
    expect(response.status).toBe(400);
    expect(firstMessage(json).split(":")[0]).toBe(field);
    expect(await received()).toEqual([]);
  });
});

describe("POST /chatgpt/prs/comment", () => {
  it("comments on the pull request and audits it", async () => {
    const { response, json, received } = await postConnector("/chatgpt/prs/comment", {
      ...repo,
      pull_number: 12,
      body: "Kora says: **looks good**",
    });
    expect(response.status).toBe(200);
    expect(json).toEqual({
      success: true,
      comment: { id: 1012, html_url: "https://github.com/octo/hivemind/pull/12#issuecomment-1012" },
    });
    expect((await received()).map(({ method, path, body }) => ({ method, path, body }))).toEqual([
      { method: "POST", path: "/repos/octo/hivemind/issues/12/comments", body: { body: "Kora says: **looks good**" } },
    ]);
    expect(await auditRowsOf(response)).toEqual([
      { actor: "chatgpt", action: "comment", target: "octo/hivemind#12", outcome: "ok", dry_run: 0 },
    ]);
  });

  it("accepts a body of exactly 65,536 characters", async () => {
    const { response } = await postConnector("/chatgpt/prs/comment", {
      ...repo,
      pull_number: 1,
      body: "y".repeat(65_536),
    });
    expect(response.status).toBe(200);
  });

  it.each([
    ["pull_number", { pull_number: 0 }],
    ["pull_number", { pull_number: -3 }],
    ["pull_number", { pull_number: 1.5 }],
    ["pull_number", { pull_number: "7" }],
    ["body", { body: "" }],
    ["body", { body: "z".repeat(65_537) }],
    ["body", { body: 42 }],
  ])("answers 400 naming %s and sends nothing", async (field, change) => {
    const { response, json, received } = await postConnector("/chatgpt/prs/comment", {
      ...repo,
      pull_number: 1,
      body: "ok",
      ...change,
    });
    expect(response.status).toBe(400);
    expect(json).toEqual(errorBody("invalid_request"));
    expect(firstMessage(json).split(":")[0]).toBe(field);
    expect(await received()).toEqual([]);
  });
});

describe("POST /chatgpt/prs/label", () => {
  it("adds labels (POST, never the replacing PUT), answers every label name and audits it", async () => {
    const { response, json, received } = await postConnector("/chatgpt/prs/label", {
      ...repo,
      pull_number: 8,
      labels: ["kora", "ready"],
    });
    expect(response.status).toBe(200);
    expect(json).toEqual({ success: true, labels: ["needs-review", "kora", "ready"] });
    expect((await received()).map(({ method, path, body }) => ({ method, path, body }))).toEqual([
      { method: "POST", path: "/repos/octo/hivemind/issues/8/labels", body: { labels: ["kora", "ready"] } },
    ]);
    expect(await auditRowsOf(response)).toEqual([
      { actor: "chatgpt", action: "label", target: "octo/hivemind#8", outcome: "ok", dry_run: 0 },
    ]);
  });

  it("accepts 20 labels of 50 characters", async () => {
    const labels = Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(50, "l"));
    const { response } = await postConnector("/chatgpt/prs/label", { ...repo, pull_number: 2, labels });
    expect(response.status).toBe(200);
  });

  it.each([
    ["labels", { labels: [] }],
    ["labels", { labels: Array.from({ length: 21 }, (_, i) => `l${i}`) }],
    ["labels.0", { labels: ["x".repeat(51)] }],
    ["labels.1", { labels: ["ok", ""] }],
    ["labels", { labels: "bug" }],
    ["pull_number", { pull_number: 0 }],
  ])("answers 400 naming %s and sends nothing", async (field, change) => {
    const { response, json, received } = await postConnector("/chatgpt/prs/label", {
      ...repo,
      pull_number: 2,
      labels: ["bug"],
      ...change,
    });
    expect(response.status).toBe(400);
    expect(firstMessage(json).split(":")[0]).toBe(field);
    expect(await received()).toEqual([]);
    expect(await auditRowsOf(response)).toEqual([
      { actor: "chatgpt", action: "label", target: "unknown", outcome: "refused:invalid_request", dry_run: 0 },
    ]);
  });
});
