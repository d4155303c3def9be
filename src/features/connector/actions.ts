import type { AuditDraft } from "../../audit/attempt";
import { Forbidden, InvalidRequest } from "../../errors";
import { readConfig } from "../../lib/config";
import { validate } from "../../lib/request";
import {
  addLabels,
  createIssueComment,
  getPullRequest,
  githubConfig,
  listIssueComments,
  listPullRequests,
  type Repository,
  searchPullRequests,
} from "../../upstream/github";
import { auditOutcomeOf, dispatchOrQueue } from "../dispatches/dispatch";
import { repositoryAllowed } from "./allowlist";
import {
  commentRequest,
  connectorConfig,
  dispatchRequest,
  fetchRequest,
  labelRequest,
  listRequest,
  searchRequest,
} from "./schema";

/**
 * Kora's actions, one implementation for both front doors: the ChatGPT Actions routes (routes.ts) and the
 * MCP tools (features/mcp). Each takes the caller's raw input and checks, in this order, the configuration
 * (503), the input with the route's zod schema (400 naming the field), the repository against ALLOWED_REPOS
 * (403), and only then calls GitHub. A refusal is a RelayError; the front door turns it into its own answer.
 */

/** What an action needs from the request that asks for it, whichever front door it came through. */
export type ActionContext = {
  env: Env;
  requestId: string;
  /** The attempt's audit draft: the action names its target as soon as it knows it. */
  audit: AuditDraft;
  /** Who owns the dispatches it creates (may read their status): KORA_SUBJECT unless the front door says. */
  subject?: string;
  /** The request's Idempotency-Key header, when its front door takes one. */
  idempotencyKey?: string;
};

/** The owner of dispatches made through Kora: its ChatGPT Actions and its MCP tools. */
export const KORA_SUBJECT = "kora";

/** Reads both configs up front, so an unconfigured relay answers 503 before anything else happens. */
function configOf(env: Env) {
  return { connector: readConfig(env, connectorConfig), github: readConfig(env, githubConfig) };
}

/** 403 before any GitHub call for a repository outside ALLOWED_REPOS. */
function allowed(config: { ALLOWED_REPOS: string[] }, { owner, repo }: Repository): Repository {
  if (!repositoryAllowed(config.ALLOWED_REPOS, owner, repo)) {
    throw new Forbidden(`${owner}/${repo} is not in ALLOWED_REPOS`, "repository_not_allowed");
  }
  return { owner, repo };
}

/**
 * Starts a Hivemind task: a `repository_dispatch` with an event type from DISPATCH_EVENT_TYPES. When GitHub
 * fails for a while, the dispatch is queued instead (features/dispatches).
 */
export async function dispatchTask(ctx: ActionContext, input: unknown) {
  const config = configOf(ctx.env);
  const body = validate(dispatchRequest, input);
  ctx.audit.target = `${body.owner}/${body.repo}`;
  const repository = allowed(config.connector, body);
  const types = config.connector.DISPATCH_EVENT_TYPES;
  const eventType = body.event_type ?? (types[0] as string);
  if (!types.includes(eventType)) {
    throw new InvalidRequest(`event_type: must be one of ${types.join(", ")}`, "event_type_not_allowed");
  }
  const outcome = await dispatchOrQueue(ctx.env, config.github, ctx.requestId, {
    source: "dispatch",
    subject: ctx.subject ?? KORA_SUBJECT,
    idempotencyKey: ctx.idempotencyKey,
    input: body,
    action: eventType,
    repository,
    event: {
      event_type: eventType,
      ...(body.client_payload === undefined ? {} : { client_payload: body.client_payload }),
    },
  });
  ctx.audit.outcome = auditOutcomeOf(outcome);
  const answer = { repository: outcome.repository, event_type: outcome.eventType, request_id: outcome.requestId };
  return outcome.status === "queued"
    ? ({ queued: true, ...answer } as const)
    : ({ dispatched: true, ...answer } as const);
}

/** Lists pull requests of an allowed repository, trimmed; `has_more` from GitHub's Link header. */
export async function listPulls(ctx: ActionContext, input: unknown) {
  const config = configOf(ctx.env);
  const body = validate(listRequest, input);
  const repository = allowed(config.connector, body);
  const { pulls, hasMore } = await listPullRequests(config.github, repository, body);
  return { pull_requests: pulls, page: body.page, has_more: hasMore };
}

/** Adds one comment to a pull request of an allowed repository. */
export async function commentOnPull(ctx: ActionContext, input: unknown) {
  const config = configOf(ctx.env);
  const body = validate(commentRequest, input);
  ctx.audit.target = `${body.owner}/${body.repo}#${body.pull_number}`;
  const repository = allowed(config.connector, body);
  return { comment: await createIssueComment(config.github, repository, body.pull_number, body.body) };
}

/** Adds labels to a pull request of an allowed repository (never replaces); answers all its labels. */
export async function labelPull(ctx: ActionContext, input: unknown) {
  const config = configOf(ctx.env);
  const body = validate(labelRequest, input);
  ctx.audit.target = `${body.owner}/${body.repo}#${body.pull_number}`;
  const repository = allowed(config.connector, body);
  return { labels: await addLabels(config.github, repository, body.pull_number, body.labels) };
}

// `search` and `fetch` follow OpenAI's "Building MCP servers for ChatGPT and API integrations"
// (https://platform.openai.com/docs/mcp, "search tool" and "fetch tool"): search takes one `query` string and
// answers `{results: [{id, title, url}]}`; fetch takes one `id` and answers `{id, title, text, url, metadata}`;
// each as a single text content item holding that JSON (features/mcp/server.ts), and `url` makes it citable.

/** How many hits `search` asks GitHub for. */
const SEARCH_RESULTS = 20;

/**
 * Finds pull requests of the allowed repositories by text: `{results: [{id, title, url}]}`, the shape of
 * OpenAI's `search` tool, where `id` (`owner/repo#number`) is what `fetchPull` takes.
 */
export async function searchPulls(ctx: ActionContext, input: unknown) {
  const config = configOf(ctx.env);
  const body = validate(searchRequest, input);
  const hits = await searchPullRequests(config.github, body.query, config.connector.ALLOWED_REPOS, SEARCH_RESULTS);
  // GitHub searched only the allowed scope; a hit from anywhere else is dropped all the same.
  const results = hits
    .filter((hit) => {
      const [owner = "", repo = ""] = hit.repository.split("/");
      return repositoryAllowed(config.connector.ALLOWED_REPOS, owner, repo);
    })
    .map((hit) => ({ id: `${hit.repository}#${hit.number}`, title: hit.title, url: hit.html_url }));
  return { results };
}

/** How many comments `fetch` shows: the most recent ones, from the newest page of COMMENTS_PAGE. */
const RECENT_COMMENTS = 20;
const COMMENTS_PAGE = 100;

/**
 * One pull request of an allowed repository with its description and recent comments:
 * `{id, title, text, url, metadata}`, the shape of OpenAI's `fetch` tool.
 */
export async function fetchPull(ctx: ActionContext, input: unknown) {
  const config = configOf(ctx.env);
  const { id } = validate(fetchRequest, input);
  const [, owner = "", repo = "", number = "0"] = /^([^/]+)\/([^#]+)#(\d+)$/.exec(id) ?? [];
  const repository = allowed(config.connector, { owner, repo });
  const pull = await getPullRequest(config.github, repository, Number(number));
  const page = Math.max(1, Math.ceil(pull.comments / COMMENTS_PAGE));
  const comments = (
    await listIssueComments(config.github, repository, pull.number, { per_page: COMMENTS_PAGE, page })
  ).slice(-RECENT_COMMENTS);
  const text = [
    `# ${pull.title}`,
    pull.body === "" ? "(no description)" : pull.body,
    ...comments.map((comment) => `## ${comment.user ?? "ghost"} commented on ${comment.created_at}\n\n${comment.body}`),
  ].join("\n\n");
  return {
    id: `${owner}/${repo}#${pull.number}`,
    title: pull.title,
    text,
    url: pull.html_url,
    metadata: {
      repository: `${owner}/${repo}`,
      number: String(pull.number),
      state: pull.merged_at === null ? pull.state : "merged",
      draft: String(pull.draft),
      author: pull.user ?? "ghost",
      labels: pull.labels.join(", "),
      head: pull.head.ref,
      base: pull.base.ref,
      comments: String(pull.comments),
      created_at: pull.created_at,
      updated_at: pull.updated_at,
    },
  };
}
