import * as z from "zod";
import { integer, json, list, optional, required } from "../../lib/config";

/** The queue's variables: the first retry's delay in seconds, doubling on every later one (0: at once). */
export const dispatchQueueConfig = z.object({
  DISPATCH_RETRY_SECONDS: integer(30, 0, 3600),
});

/** HIVE_EVENT_FILTER: which workflow runs may change a dispatch's status (absent list: any). */
const eventFilter = z.strictObject({
  workflows: z.array(z.string().min(1).max(200)).min(1).optional(),
  conclusions: z.array(z.string().min(1).max(50)).min(1).optional(),
});
export type EventFilter = z.output<typeof eventFilter>;

/** What is checked when the Worker loads (src/index.ts): a malformed HIVE_EVENT_FILTER stops it. */
export const runStatusLoadConfig = z.object({ HIVE_EVENT_FILTER: json(eventFilter) });

/** `POST /webhooks/github`'s variables. */
export const runStatusConfig = z.object({
  GITHUB_WEBHOOK_SECRET: required(),
  HIVE_EVENT_FILTER: json(eventFilter),
  // Read leniently here: a webhook is acknowledged whatever the connector's configuration says.
  ALLOWED_REPOS: list(),
  HIVE_REPOSITORY: optional(),
});

/** Where a dispatch stands; `pending` (GitHub's first answer not in yet) is shown as `queued`. */
export type DispatchStatus = "pending" | "queued" | "dispatched" | "running" | "completed" | "failed";

/** What DISPATCH_QUEUE carries: only the id; the event itself waits in D1. */
export type DispatchMessage = { request_id: string };

/** The path of `GET /trigger-hive/{request_id}` and `GET /chatgpt/dispatch/{request_id}`. */
export const requestIdPath = z.object({
  request_id: z.uuid("must be a request id, as the dispatch answered it"),
});

/**
 * `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header): 1-255 visible ASCII characters, sent bare or
 * as a quoted Structured Field string.
 */
export const idempotencyKey = z
  .string()
  .transform((value) => value.replace(/^"(.*)"$/, "$1"))
  .pipe(z.string().regex(/^[\x21-\x7e]{1,255}$/, "must be 1-255 visible ASCII characters"));

/**
 * The part of a `workflow_run` event the relay reads (GitHub docs, "Webhook events and payloads",
 * workflow_run). `display_title` is the run's name, which the foreman workflow's `run-name` makes carry the
 * request id.
 */
export const workflowRunEvent = z.object({
  action: z.string(),
  workflow_run: z.object({
    id: z.number(),
    name: z.string().nullable(),
    display_title: z.string().nullable().optional(),
    html_url: z.string(),
    status: z.string().nullable().optional(),
    conclusion: z.string().nullable(),
    run_attempt: z.number().int().positive().optional(),
  }),
  repository: z.object({ full_name: z.string() }),
});
export type WorkflowRunEvent = z.output<typeof workflowRunEvent>;

/** `X-GitHub-Delivery`: a GUID; anything else of a sensible size is taken as the delivery id too. */
export const deliveryId = z.string().regex(/^[A-Za-z0-9-]{1,100}$/, "must be GitHub's delivery GUID");
