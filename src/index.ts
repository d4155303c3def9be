import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { sharedSecretsLoadConfig } from "./caller/identify";
import type { AppEnv } from "./env";
import { errorDialectOf, InternalError, MethodNotAllowed, NotFound, RelayError } from "./errors";
import { audit } from "./features/audit/routes";
import { billing } from "./features/billing/routes";
import { chat } from "./features/chat/routes";
import { connector } from "./features/connector/routes";
import { consoleApp } from "./features/console/routes";
import {
  DISPATCH_DEAD_LETTER_QUEUE_NAME,
  DISPATCH_QUEUE_NAME,
  deliverDispatches,
  failDispatches,
} from "./features/dispatches/consumer";
import { dispatches } from "./features/dispatches/routes";
import { type DispatchMessage, runStatusLoadConfig } from "./features/dispatches/schema";
import { embeddings } from "./features/embeddings/routes";
import { health } from "./features/health/routes";
import { keys } from "./features/keys/routes";
import { entitlements } from "./features/ledger/routes";
import { library } from "./features/library/routes";
import { mcp } from "./features/mcp/routes";
import { oauth } from "./features/oauth/routes";
import { webhooks } from "./features/payments/routes";
import { routingConfig } from "./features/proxy/providers";
import { responses } from "./features/responses/routes";
import { trigger } from "./features/trigger/routes";
import { triggerLoadConfig } from "./features/trigger/schema";
import { deliverAlerts } from "./features/usage/alerts";
import { usage } from "./features/usage/routes";
import { allowedMethods } from "./lib/allowed-methods";
import { assertConfig } from "./lib/config";
import type { BudgetAlert } from "./metering/durable-object";
import { originPolicy } from "./middleware/origin";
import { requestContext } from "./middleware/request-context";
import { assertRoutesDeclared } from "./routes";

export { Meter } from "./metering/durable-object";
export { RateLimiter } from "./rate-limit/durable-object";

// A routing table or event filter that is malformed, or leads outside ALLOWED_REPOS, two shared secrets that
// are the same, or a malformed PROVIDERS or MODEL_FALLBACKS stop the Worker here: the deploy fails with the
// reason instead of a request failing later.
assertConfig(env, triggerLoadConfig);
assertConfig(env, runStatusLoadConfig);
assertConfig(env, sharedSecretsLoadConfig);
assertConfig(env, routingConfig);

const app = new Hono<AppEnv>();

app.use(requestContext());
// Health sits before the origin check and every limiter: it needs no secret and is never rate limited.
app.route("/", health);
app.use(originPolicy());

app.route("/", chat);
app.route("/", responses);
app.route("/", embeddings);
app.route("/", connector);
app.route("/", trigger);
app.route("/", audit);
app.route("/", billing);
app.route("/", entitlements);
app.route("/", webhooks);
app.route("/", dispatches);
app.route("/", library);
app.route("/", keys);
app.route("/", usage);
app.route("/", mcp);
app.route("/", oauth);
app.route("/", consoleApp);
assertRoutesDeclared(app.routes);

// Errors under /v1 come in OpenAI's shape (the SDKs read them), everywhere else in the relay's.
app.notFound((c) => {
  const allowed = allowedMethods(app.routes, c.req.path);
  return (allowed.length > 0 ? new MethodNotAllowed(allowed) : new NotFound()).toResponse(errorDialectOf(c.req.path));
});

app.onError((error, c) => {
  const dialect = errorDialectOf(c.req.path);
  if (error instanceof RelayError) return error.toResponse(dialect);
  if (error instanceof HTTPException && error.status < 500) {
    return new RelayError(error.status, "invalid_request", "The request could not be read").toResponse(dialect);
  }
  // The detail goes to the log only: an unexpected error's message may name internals.
  c.get("log")?.event("error", "unhandled error", { error: error.name, detail: error.message.slice(0, 200) });
  return new InternalError().toResponse(dialect);
});

/** The Hono app, for tests that read its routes. */
export { app };

/** Each queue's consumer, by the queue's name in wrangler.jsonc. */
async function queue(batch: MessageBatch<BudgetAlert | DispatchMessage>, env: Env): Promise<void> {
  switch (batch.queue) {
    case DISPATCH_QUEUE_NAME:
      return deliverDispatches(batch as MessageBatch<DispatchMessage>, env);
    case DISPATCH_DEAD_LETTER_QUEUE_NAME:
      return failDispatches(batch as MessageBatch<DispatchMessage>, env);
    default:
      return deliverAlerts(batch as MessageBatch<BudgetAlert>, env);
  }
}

export default {
  fetch: app.fetch,
  queue,
} satisfies ExportedHandler<Env, BudgetAlert | DispatchMessage>;
