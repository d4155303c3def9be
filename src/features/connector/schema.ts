import * as z from "zod";
import { list } from "../../lib/config";

const REPO_ENTRY = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/(?:\*|(?!\.\.?$)[A-Za-z0-9._-]{1,100})$/;

/** The connector's variables (docs/api.md, "Configuration"); GitHub's own live in upstream/github.ts. */
export const connectorConfig = z.object({
  // Required: without it the connector would have no limit on which repositories ChatGPT may touch.
  ALLOWED_REPOS: list().pipe(z.array(z.string().regex(REPO_ENTRY)).min(1)),
  DISPATCH_EVENT_TYPES: list().transform((types) => (types.length > 0 ? types : ["hivemind-task"])),
});
export type ConnectorConfig = z.output<typeof connectorConfig>;

/** GitHub's limit on `client_payload` (REST docs, "Create a repository dispatch event"). */
export const MAX_PAYLOAD_KEYS = 10;
/** The relay's cap on the serialised `client_payload`, well inside GitHub's and ChatGPT's limits. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

const owner = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, "must be a GitHub user or organisation name")
  .meta({ description: "Repository owner (user or organisation).", example: "octo-org" });
const repo = z
  .string()
  .regex(/^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/, "must be a GitHub repository name")
  .meta({ description: "Repository name.", example: "hivemind" });
const pullNumber = z
  .number()
  .int()
  .positive()
  .max(Number.MAX_SAFE_INTEGER)
  .meta({ description: "Pull request number.", example: 42 });

/** `POST /chatgpt/dispatch`. */
export const dispatchRequest = z.strictObject({
  owner,
  repo,
  event_type: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .meta({ description: "One of the relay's DISPATCH_EVENT_TYPES; defaults to the first one." }),
  client_payload: z
    .record(z.string(), z.unknown())
    .refine((payload) => Object.keys(payload).length <= MAX_PAYLOAD_KEYS, {
      message: `must have at most ${MAX_PAYLOAD_KEYS} top-level keys (GitHub's limit)`,
    })
    .refine((payload) => new TextEncoder().encode(JSON.stringify(payload)).length < MAX_PAYLOAD_BYTES, {
      message: `must be smaller than ${MAX_PAYLOAD_BYTES} bytes as JSON`,
    })
    .optional()
    .meta({ description: "Free-form JSON object handed to the workflow; at most 10 top-level keys, under 64 KB." }),
});

/** `POST /chatgpt/prs/list`. */
export const listRequest = z.strictObject({
  owner,
  repo,
  state: z.enum(["open", "closed", "all"]).default("open").meta({ description: "Which pull requests to list." }),
  per_page: z.number().int().min(1).max(100).default(30).meta({ description: "Results per page (1-100)." }),
  page: z.number().int().min(1).max(10_000).default(1).meta({ description: "Page number, starting at 1." }),
});

/** `POST /chatgpt/prs/comment`. */
export const commentRequest = z.strictObject({
  owner,
  repo,
  pull_number: pullNumber,
  body: z.string().min(1).max(65_536).meta({ description: "Comment text in GitHub Markdown (1-65536 characters)." }),
});

/** `POST /chatgpt/prs/label`. */
export const labelRequest = z.strictObject({
  owner,
  repo,
  pull_number: pullNumber,
  labels: z
    .array(z.string().min(1).max(50))
    .min(1)
    .max(20)
    .meta({ description: "1-20 label names (at most 50 characters each) to add; existing labels stay." }),
});

/** MCP `search`: one `query` string, the shape OpenAI's deep research and company knowledge call. */
export const searchRequest = z.strictObject({
  query: z
    .string()
    .min(1)
    .max(256)
    .meta({ description: "Words to look for in the title, description and comments of pull requests." }),
});

/** MCP `fetch`: one `id` string, as `search` returned it. */
export const fetchRequest = z.strictObject({
  id: z
    .string()
    .regex(
      /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/(?!\.\.?#)[A-Za-z0-9._-]{1,100}#[1-9]\d{0,14}$/,
      "must be owner/repo#number, as search returned it",
    )
    .meta({ description: "A pull request as search returned it: owner/repo#number.", example: "octo-org/hivemind#42" }),
});

const repository = z.string().meta({ example: "octo-org/hivemind" });

/** Answer of `POST /chatgpt/dispatch`. */
export const dispatchResponse = z.object({
  success: z.literal(true),
  dispatched: z.literal(true),
  repository,
  event_type: z.string(),
  request_id: z.string().meta({ description: "The relay's request id, also in its audit log." }),
});

/** Answer of `POST /chatgpt/dispatch` with 202: GitHub was failing, the relay queued the dispatch. */
export const dispatchQueuedResponse = z.object({
  success: z.literal(true),
  queued: z.literal(true),
  repository,
  event_type: z.string(),
  request_id: z.string().meta({ description: "Pass it to getDispatchStatus to follow the task." }),
});

/** Answer of `GET /chatgpt/dispatch/{request_id}`. */
export const dispatchStatusResponse = z.object({
  success: z.literal(true),
  request_id: z.string(),
  action: z.string().meta({ description: "The event type that was dispatched." }),
  repository,
  status: z.enum(["queued", "dispatched", "running", "completed", "failed"]),
  conclusion: z.string().optional().meta({ description: "The workflow run's conclusion once completed." }),
  run_url: z.string().optional().meta({ description: "The workflow run on GitHub, once it reported." }),
  attempts: z.number().int().meta({ description: "How often the relay called GitHub for it." }),
  updated_at: z.string(),
});

const branch = z.object({ ref: z.string(), sha: z.string() });

/** Answer of `POST /chatgpt/prs/list`: pull requests trimmed to what ChatGPT needs. */
export const listResponse = z.object({
  success: z.literal(true),
  pull_requests: z.array(
    z.object({
      number: z.number().int(),
      title: z.string(),
      state: z.string(),
      draft: z.boolean(),
      user: z.string().nullable().meta({ description: "Login of the author." }),
      head: branch,
      base: branch,
      labels: z.array(z.string()),
      html_url: z.string(),
      created_at: z.string(),
      updated_at: z.string(),
    }),
  ),
  page: z.number().int(),
  has_more: z.boolean().meta({ description: "True when a next page exists." }),
});

/** Answer of `POST /chatgpt/prs/comment`. */
export const commentResponse = z.object({
  success: z.literal(true),
  comment: z.object({ id: z.number().int(), html_url: z.string() }),
});

/** Answer of `POST /chatgpt/prs/label`: every label the pull request now has. */
export const labelResponse = z.object({ success: z.literal(true), labels: z.array(z.string()) });

/** The one error shape (docs/api.md, "Conventions"), one named schema that every operation refers to. */
export const errorResponse = z
  .object({
    success: z.literal(false),
    error: z.object({ code: z.string(), message: z.string() }),
  })
  .meta({ id: "Error" });
