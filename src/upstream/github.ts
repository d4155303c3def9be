import * as z from "zod";
import { RelayError, UpstreamFailed, UpstreamRateLimited, UpstreamTimeout, UpstreamUnreachable } from "../errors";
import { integer, required, url } from "../lib/config";

/**
 * The only GitHub client, with exactly seven calls: three that write (repository dispatch, create an issue
 * comment, add labels) and four that only read (list pull requests, search them, get one, list its comments).
 * There is deliberately no generic request function: nothing here can merge, push, delete, close or replace
 * anything. No call is retried (a retried comment is a double comment).
 */

/** The GitHub variables (docs/api.md, "Configuration"). */
export const githubConfig = z.object({
  GITHUB_TOKEN: required(),
  GITHUB_API_URL: url("https://api.github.com"),
  GITHUB_TIMEOUT_MS: integer(10_000, 1, 120_000),
});
export type GitHubConfig = z.output<typeof githubConfig>;

/** A repository the caller already checked against its allowlist. */
export type Repository = { owner: string; repo: string };

/** A pull request trimmed to what the contract names (ChatGPT has a response size limit). */
export type PullRequestSummary = {
  number: number;
  title: string;
  state: string;
  draft: boolean;
  user: string | null;
  head: { ref: string; sha: string };
  base: { ref: string; sha: string };
  labels: string[];
  html_url: string;
  created_at: string;
  updated_at: string;
};

const UPSTREAM = "GitHub";

/** `POST /repos/{owner}/{repo}/dispatches` (answers 204). */
export async function dispatchRepositoryEvent(
  config: GitHubConfig,
  repository: Repository,
  event: { event_type: string; client_payload?: Record<string, unknown> },
): Promise<void> {
  await send(config, "POST", `${repoPath(repository)}/dispatches`, event);
}

const pullSchema = z.object({
  number: z.number(),
  title: z.string(),
  state: z.string(),
  draft: z.boolean().optional(),
  user: z.object({ login: z.string() }).nullable(),
  head: z.object({ ref: z.string(), sha: z.string() }),
  base: z.object({ ref: z.string(), sha: z.string() }),
  labels: z.array(z.object({ name: z.string() })),
  html_url: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});

/** `GET /repos/{owner}/{repo}/pulls`; `hasMore` comes from the `rel="next"` link of GitHub's Link header. */
export async function listPullRequests(
  config: GitHubConfig,
  repository: Repository,
  query: { state: "open" | "closed" | "all"; per_page: number; page: number },
): Promise<{ pulls: PullRequestSummary[]; hasMore: boolean }> {
  const search = new URLSearchParams({
    state: query.state,
    per_page: String(query.per_page),
    page: String(query.page),
  });
  const answer = await send(config, "GET", `${repoPath(repository)}/pulls?${search}`);
  const pulls = parseAnswer(z.array(pullSchema), answer.body).map(summaryOf);
  return { pulls, hasMore: /<[^>]*>;\s*rel="next"/.test(answer.headers.get("Link") ?? "") };
}

function summaryOf(pull: z.output<typeof pullSchema>): PullRequestSummary {
  return {
    number: pull.number,
    title: pull.title,
    state: pull.state,
    draft: pull.draft ?? false,
    user: pull.user?.login ?? null,
    head: { ref: pull.head.ref, sha: pull.head.sha },
    base: { ref: pull.base.ref, sha: pull.base.sha },
    labels: pull.labels.map((label) => label.name),
    html_url: pull.html_url,
    created_at: pull.created_at,
    updated_at: pull.updated_at,
  };
}

/** One hit of a pull request search, with the repository it belongs to (`owner/repo`). */
export type PullRequestHit = { repository: string; number: number; title: string; html_url: string };

const searchSchema = z.object({
  items: z.array(
    z.object({
      repository_url: z.string(),
      number: z.number(),
      title: z.string(),
      html_url: z.string(),
    }),
  ),
});

/**
 * `GET /search/issues?q=…+is:pr+repo:…`: pull requests whose text matches `text`, searched only in `scope`
 * (`ALLOWED_REPOS` entries: `owner/repo` becomes `repo:owner/repo`, `owner/*` becomes `user:owner`). Words
 * of `text` that carry a search qualifier (`repo:`, `org:`, …) or quotes are dropped, so that the caller's
 * text can never widen the scope.
 */
export async function searchPullRequests(
  config: GitHubConfig,
  text: string,
  scope: readonly string[],
  perPage: number,
): Promise<PullRequestHit[]> {
  const words = text
    .replace(/["()]/g, " ")
    .split(/\s+/)
    .filter((word) => word !== "" && !word.includes(":") && !/^(?:AND|OR|NOT)$/.test(word));
  const qualifiers = scope.map((entry) => (entry.endsWith("/*") ? `user:${entry.slice(0, -2)}` : `repo:${entry}`));
  const search = new URLSearchParams({
    q: [...words, "is:pr", ...qualifiers].join(" "),
    per_page: String(perPage),
  });
  const answer = await send(config, "GET", `/search/issues?${search}`);
  return parseAnswer(searchSchema, answer.body).items.map((item) => ({
    repository: item.repository_url.replace(/^.*\/repos\//, ""),
    number: item.number,
    title: item.title,
    html_url: item.html_url,
  }));
}

/** A pull request with its description, as `fetch` shows it. */
export type PullRequestDetail = PullRequestSummary & { body: string; comments: number; merged_at: string | null };

/** `GET /repos/{owner}/{repo}/pulls/{number}`. */
export async function getPullRequest(
  config: GitHubConfig,
  repository: Repository,
  pullNumber: number,
): Promise<PullRequestDetail> {
  const answer = await send(config, "GET", `${repoPath(repository)}/pulls/${pullNumber}`);
  const pull = parseAnswer(
    pullSchema.extend({
      body: z.string().nullable(),
      comments: z.number(),
      merged_at: z.string().nullable(),
    }),
    answer.body,
  );
  return {
    ...summaryOf(pull),
    body: pull.body ?? "",
    comments: pull.comments,
    merged_at: pull.merged_at,
  };
}

/** One comment on a pull request's conversation. */
export type IssueComment = { id: number; user: string | null; body: string; created_at: string; html_url: string };

const commentSchema = z.object({
  id: z.number(),
  user: z.object({ login: z.string() }).nullable(),
  body: z.string().optional(),
  created_at: z.string(),
  html_url: z.string(),
});

/** `GET /repos/{owner}/{repo}/issues/{number}/comments` (oldest first; one page). */
export async function listIssueComments(
  config: GitHubConfig,
  repository: Repository,
  issueNumber: number,
  query: { per_page: number; page: number },
): Promise<IssueComment[]> {
  const search = new URLSearchParams({ per_page: String(query.per_page), page: String(query.page) });
  const answer = await send(config, "GET", `${repoPath(repository)}/issues/${issueNumber}/comments?${search}`);
  return parseAnswer(z.array(commentSchema), answer.body).map((comment) => ({
    id: comment.id,
    user: comment.user?.login ?? null,
    body: comment.body ?? "",
    created_at: comment.created_at,
    html_url: comment.html_url,
  }));
}

/** `POST /repos/{owner}/{repo}/issues/{number}/comments` (a pull request is an issue to this endpoint). */
export async function createIssueComment(
  config: GitHubConfig,
  repository: Repository,
  issueNumber: number,
  body: string,
): Promise<{ id: number; html_url: string }> {
  const answer = await send(config, "POST", `${repoPath(repository)}/issues/${issueNumber}/comments`, { body });
  const comment = parseAnswer(z.object({ id: z.number(), html_url: z.string() }), answer.body);
  return { id: comment.id, html_url: comment.html_url };
}

/** `POST /repos/{owner}/{repo}/issues/{number}/labels`: adds, never the replacing `PUT`; returns all names. */
export async function addLabels(
  config: GitHubConfig,
  repository: Repository,
  issueNumber: number,
  labels: string[],
): Promise<string[]> {
  const answer = await send(config, "POST", `${repoPath(repository)}/issues/${issueNumber}/labels`, { labels });
  return parseAnswer(z.array(z.object({ name: z.string() })), answer.body).map((label) => label.name);
}

function repoPath({ owner, repo }: Repository): string {
  return `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
}

type Answer = { status: number; headers: Headers; body: unknown };

async function send(config: GitHubConfig, method: "GET" | "POST", path: string, body?: unknown): Promise<Answer> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), config.GITHUB_TIMEOUT_MS);
  try {
    const response = await fetch(`${config.GITHUB_API_URL}${path}`, {
      method,
      headers: {
        Accept: "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "soul-mirror-relay",
        Authorization: `Bearer ${config.GITHUB_TOKEN}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      // A redirect (a renamed or transferred repository) could lead outside the allowlist: never follow one.
      redirect: "manual",
      signal: abort.signal,
    });
    const text = await response.text();
    const answer: Answer = { status: response.status, headers: response.headers, body: parseJson(text) };
    if (response.status >= 200 && response.status < 300) return answer;
    throw failure(answer, config.GITHUB_TOKEN, Date.now());
  } catch (error) {
    if (error instanceof RelayError) throw error;
    if (abort.signal.aborted) throw new UpstreamTimeout(UPSTREAM, config.GITHUB_TIMEOUT_MS);
    throw new UpstreamUnreachable(UPSTREAM);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Maps a GitHub error answer. Rate limits follow GitHub's REST guide ("Rate limits for the REST API"): a 403
 * or 429 with `retry-after` (secondary limit) or `x-ratelimit-remaining: 0` (primary limit, wait until
 * `x-ratelimit-reset`), or a 429 without either (wait a minute). 5xx and redirects → 502 unreachable; any
 * other status → 502 with GitHub's message.
 */
function failure(answer: Answer, token: string, now: number): Error {
  const { status, headers } = answer;
  if (status === 403 || status === 429) {
    const retryAfter = Number(headers.get("retry-after"));
    if (headers.has("retry-after") && Number.isFinite(retryAfter)) {
      return new UpstreamRateLimited(UPSTREAM, Math.max(1, Math.ceil(retryAfter)));
    }
    if (headers.get("x-ratelimit-remaining") === "0") {
      const reset = Number(headers.get("x-ratelimit-reset"));
      const seconds = Number.isFinite(reset) ? Math.ceil(reset - now / 1000) : 60;
      return new UpstreamRateLimited(UPSTREAM, Math.max(1, seconds));
    }
    if (status === 429) return new UpstreamRateLimited(UPSTREAM, 60);
  }
  if (status >= 500) return new UpstreamUnreachable(UPSTREAM, `failed with status ${status}`);
  // A renamed or transferred repository: asking again will not help.
  if (status >= 300 && status < 400) return new UpstreamUnreachable(UPSTREAM, "answered with a redirect", false);
  return new UpstreamFailed(UPSTREAM, status, messageOf(answer.body, token));
}

/** GitHub's `message`, shortened, with the token redacted in case a proxy in between echoes it. */
function messageOf(body: unknown, token: string): string {
  const message =
    typeof body === "object" && body !== null && "message" in body && typeof body.message === "string"
      ? body.message
      : "no message";
  return message.replaceAll(token, "[redacted]").slice(0, 300);
}

function parseJson(text: string): unknown {
  try {
    return text === "" ? null : JSON.parse(text);
  } catch {
    return text;
  }
}

function parseAnswer<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success) throw new UpstreamUnreachable(UPSTREAM, "answered with an unexpected body");
  return result.data;
}
