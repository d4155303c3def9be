import type { ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import * as z from "zod";
import {
  type ActionContext,
  commentOnPull,
  dispatchTask,
  fetchPull,
  labelPull,
  listPulls,
  searchPulls,
} from "../connector/actions";
import {
  commentRequest,
  dispatchRequest,
  fetchRequest,
  labelRequest,
  listRequest,
  searchRequest,
} from "../connector/schema";
import type { Scope } from "../oauth/server";
import { triggerRequest } from "../trigger/schema";
import { assertTriggerIpAllowed, triggerHive } from "../trigger/trigger";

/** What a tool gets besides its input: the action's context and the caller's IP (the trigger's allowlist). */
export type ToolContext = ActionContext & { clientIp: string };

/** One MCP tool: a capability of the connector or the trigger, with the REST route's schema and action. */
export type Tool = {
  name: string;
  /** What a person sees in the client's list of tools. */
  title: string;
  /** At most 300 characters: what the model reads to choose the tool. */
  description: string;
  /** The REST route's zod schema; the action validates with it again, so both doors refuse alike. */
  input: z.ZodObject;
  /** The scope a caller's token must carry. */
  scope: Scope;
  annotations: ToolAnnotations;
  /** The audit action of a write (as on the REST route), or null for a read, which is not audited. */
  audit: string | null;
  /** The audit target known before the input is read, as the REST route has it. */
  target?: (env: Env) => string;
  run: (ctx: ToolContext, input: unknown) => Promise<Record<string, unknown>>;
};

// Every tool talks to GitHub (an open world of repositories and people); none deletes or replaces anything.
const reads: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
};
const writes = (idempotent: boolean): ToolAnnotations => ({
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: idempotent,
  openWorldHint: true,
});

/** The trigger's schema as the tool shows it: a dry run unless the caller says `dry_run: false`. */
const triggerInput = triggerRequest.extend({
  dry_run: z.boolean().default(true).meta({ description: "Only answer what would be sent (default true)." }),
});

/**
 * The tools, one per capability. `search` and `fetch` are the read-only pair ChatGPT's deep research and
 * company knowledge call by these names, with OpenAI's argument and result shapes (actions.ts).
 */
export const TOOLS: readonly Tool[] = [
  {
    name: "search",
    title: "Search pull requests",
    description:
      "Searches pull requests of the allowed repositories by text. Returns {results: [{id, title, url}]}; pass an id to fetch for the whole pull request.",
    input: searchRequest,
    scope: "read",
    annotations: reads,
    audit: null,
    run: searchPulls,
  },
  {
    name: "fetch",
    title: "Fetch a pull request",
    description:
      "Fetches one pull request by the id search returned (owner/repo#number): its description, recent comments and metadata such as state, author, labels and branches.",
    input: fetchRequest,
    scope: "read",
    annotations: reads,
    audit: null,
    run: fetchPull,
  },
  {
    name: "list_pull_requests",
    title: "List pull requests",
    description:
      "Lists pull requests of an allowed repository, trimmed to number, title, state, author, branches, labels, link and times. has_more tells whether another page exists.",
    input: listRequest,
    scope: "read",
    annotations: reads,
    audit: null,
    run: listPulls,
  },
  {
    name: "comment_on_pull_request",
    title: "Comment on a pull request",
    description:
      "Adds a comment (GitHub Markdown) to a pull request of an allowed repository. It never edits or deletes comments.",
    input: commentRequest,
    scope: "write",
    annotations: writes(false),
    audit: "comment",
    run: commentOnPull,
  },
  {
    name: "add_labels",
    title: "Add labels to a pull request",
    description:
      "Adds labels to a pull request of an allowed repository and returns all its labels. Existing labels stay; nothing is removed.",
    input: labelRequest,
    scope: "write",
    annotations: writes(true),
    audit: "label",
    run: labelPull,
  },
  {
    name: "dispatch_task",
    title: "Dispatch a Hivemind task",
    description:
      "Starts a Hivemind task: sends a repository_dispatch event to an allowed repository, which starts the GitHub Actions workflow listening for that event type.",
    input: dispatchRequest,
    scope: "write",
    annotations: writes(false),
    audit: "dispatch",
    run: dispatchTask,
  },
  {
    name: "trigger_hive",
    title: "Trigger the Hivemind foreman",
    description:
      "Starts the Hivemind foreman workflow with an action (such as plan or execute). A dry run by default: it answers what it would send; only dry_run: false dispatches.",
    input: triggerInput,
    scope: "write",
    annotations: writes(false),
    audit: "trigger",
    target: (env) => env.HIVE_REPOSITORY?.trim() || "unknown",
    run: async (ctx, input) => {
      assertTriggerIpAllowed(ctx.env, ctx.clientIp);
      // The REST route's schema defaults dry_run to false; here the default is the safe one.
      const withDefault = typeof input === "object" && input !== null ? { dry_run: true, ...input } : input;
      return triggerHive(ctx, withDefault);
    },
  },
];
