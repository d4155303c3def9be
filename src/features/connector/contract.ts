import type { RouteConfig } from "@asteasolutions/zod-to-openapi";
import type * as z from "zod";
import type { RouteSpec } from "../../middleware/guard";
import { requestIdPath } from "../dispatches/schema";
import {
  commentRequest,
  commentResponse,
  dispatchQueuedResponse,
  dispatchRequest,
  dispatchResponse,
  dispatchStatusResponse,
  errorResponse,
  labelRequest,
  labelResponse,
  listRequest,
  listResponse,
} from "./schema";

const connectorRoute = (path: string): RouteSpec => ({
  method: "POST",
  path,
  auth: "chatgpt-token",
  rateLimit: "connector",
  body: "json",
});

/** Kora's routes: the five ChatGPT Actions and the document that describes them. */
export const connectorRoutes = {
  dispatch: connectorRoute("/chatgpt/dispatch"),
  dispatchStatus: {
    method: "GET",
    path: "/chatgpt/dispatch/:request_id",
    auth: "chatgpt-token",
    rateLimit: "connector",
    body: null,
  },
  listPulls: connectorRoute("/chatgpt/prs/list"),
  comment: connectorRoute("/chatgpt/prs/comment"),
  label: connectorRoute("/chatgpt/prs/label"),
  openapi: { method: "GET", path: "/openapi.json", auth: "none", rateLimit: null, body: null },
} as const satisfies Record<string, RouteSpec>;

/** The name of the bearer security scheme in /openapi.json. */
export const SECURITY_SCHEME = "bearerAuth";

const errors = (extra: Record<number, string>) => {
  const described: Record<number, string> = {
    400: "Invalid input; the message names the field.",
    401: "Missing or wrong bearer token.",
    403: "The repository is not in the relay's allowlist.",
    429: "Rate limited; retry after the Retry-After seconds.",
    502: "GitHub failed or refused; the message is GitHub's.",
    503: "The relay is not configured.",
    504: "GitHub did not answer in time.",
    ...extra,
  };
  return Object.fromEntries(
    Object.entries(described).map(([status, description]) => [
      status,
      { description, content: { "application/json": { schema: errorResponse } } },
    ]),
  );
};

function operation<Req extends z.ZodType, Res extends z.ZodType>(options: {
  path: string;
  operationId: string;
  summary: string;
  description: string;
  consequential: boolean;
  request: Req;
  response: Res;
  /** Another success answer besides 200 (the dispatch's 202 while GitHub is failing). */
  accepted?: z.ZodType;
}) {
  return {
    method: "post",
    path: options.path,
    operationId: options.operationId,
    summary: options.summary,
    description: options.description,
    security: [{ [SECURITY_SCHEME]: [] }],
    request: { body: { required: true, content: { "application/json": { schema: options.request } } } },
    responses: {
      200: { description: "Success.", content: { "application/json": { schema: options.response } } },
      ...(options.accepted
        ? {
            202: {
              description: "GitHub is failing for a while: the relay queued the dispatch and retries it.",
              content: { "application/json": { schema: options.accepted } },
            },
          }
        : {}),
      ...errors({}),
    },
    // ChatGPT asks the user to confirm before a consequential call (OpenAI, "GPT Actions" docs).
    "x-openai-isConsequential": options.consequential,
  } satisfies RouteConfig;
}

/**
 * The connector operations: the handlers in routes.ts validate with these request schemas and
 * /openapi.json is generated from the same objects, so the contract cannot drift.
 */
export const operations = {
  dispatch: operation({
    path: connectorRoutes.dispatch.path,
    operationId: "dispatchTask",
    summary: "Start a Hivemind task",
    description:
      "Sends a repository_dispatch event to an allowed repository, which starts the GitHub Actions workflow listening for that event type. Use it to hand a task to Hivemind. While GitHub fails, the relay queues it (202). Follow it with getDispatchStatus.",
    consequential: true,
    request: dispatchRequest,
    response: dispatchResponse,
    accepted: dispatchQueuedResponse,
  }),
  dispatchStatus: {
    method: "get",
    path: "/chatgpt/dispatch/{request_id}",
    operationId: "getDispatchStatus",
    summary: "Follow a Hivemind task",
    description:
      "Tells where a task started with dispatchTask stands: queued (GitHub was failing; the relay retries), dispatched, running, completed with its conclusion, or failed. Pass the request_id dispatchTask answered.",
    security: [{ [SECURITY_SCHEME]: [] }],
    request: { params: requestIdPath },
    responses: {
      200: { description: "Success.", content: { "application/json": { schema: dispatchStatusResponse } } },
      ...errors({ 404: "No task with this request_id was started through this connector." }),
    },
    "x-openai-isConsequential": false,
  } satisfies RouteConfig,
  list: operation({
    path: connectorRoutes.listPulls.path,
    operationId: "listPullRequests",
    summary: "List pull requests",
    description:
      "Lists pull requests of an allowed repository, trimmed to number, title, state, author, branches, labels, link and times. has_more tells whether another page exists.",
    consequential: false,
    request: listRequest,
    response: listResponse,
  }),
  comment: operation({
    path: connectorRoutes.comment.path,
    operationId: "commentOnPullRequest",
    summary: "Comment on a pull request",
    description: "Adds a comment to a pull request of an allowed repository. It never edits or deletes comments.",
    consequential: true,
    request: commentRequest,
    response: commentResponse,
  }),
  label: operation({
    path: connectorRoutes.label.path,
    operationId: "labelPullRequest",
    summary: "Add labels to a pull request",
    description:
      "Adds labels to a pull request of an allowed repository and returns all its labels. Existing labels stay; nothing is removed.",
    consequential: true,
    request: labelRequest,
    response: labelResponse,
  }),
};
