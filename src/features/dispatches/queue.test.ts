import { describe, expect, it } from "vitest";
import { CHATGPT_BEARER_TOKEN } from "../../../test/secrets";
import {
  auditUnder,
  dispatchRow,
  postDispatch,
  postTrigger,
  receivedAbout,
  scriptRepository,
  triggerStatus,
  uniqueRepository,
} from "../../../test/support/dispatches";
import { eventually } from "../../../test/support/keys";
import { mcpSession } from "../../../test/support/mcp";
import { errorBody, relay, uniqueIp } from "../../../test/support/relay";

// docs/api.md, "Operator queue and run status". The queue consumer is the real one, fed by Miniflare's local
// DISPATCH_QUEUE (vitest.config.mts: retries at once, the dead-letter queue after three deliveries).

/** A trigger of `action` to a repository of the test's own, whose GitHub answers are scripted. */
async function triggerTo(repository: string, behaviours: string[]) {
  await scriptRepository(repository, behaviours);
  return postTrigger(
    { action: "execute", payload: { issue: 7 } },
    { vars: { HIVE_REPOSITORY: repository, GITHUB_TIMEOUT_MS: "300" } },
  );
}

const statusOf = async (requestId: string) => (await triggerStatus(requestId)).json;

describe("POST /trigger-hive while GitHub fails for a while", () => {
  it("answers 202 queued for every transient failure, then the queue delivers each trigger exactly once", async () => {
    // GitHub's 5xx, a timeout, a reset connection, and its three kinds of rate limit, all at once.
    const failures = ["status-500", "status-503", "hang", "reset", "toomany", "secondary", "ratelimit"];
    const triggers = await Promise.all(
      failures.map(async (failure) => {
        const repository = uniqueRepository();
        return { failure, repository, ...(await triggerTo(repository, [failure])) };
      }),
    );
    for (const { response, json } of triggers) {
      expect(response.status).toBe(202);
      expect(json).toEqual({ success: true, queued: true, request_id: response.headers.get("X-Request-Id") });
    }
    for (const { failure, repository, json } of triggers) {
      const requestId = json.request_id as string;
      await eventually(async () => expect((await statusOf(requestId)).status).toBe("dispatched"), 30_000);
      const calls = await receivedAbout(repository);
      // The same event twice, the failed attempt and the one that GitHub took; nothing after it.
      expect(calls.map((call) => call.behaviour)).toEqual([failure, "ok"]);
      const event = {
        event_type: "hivemind-foreman",
        client_payload: { action: "execute", payload: { issue: 7 }, request_id: requestId },
      };
      expect(calls.map(({ method, path, body }) => ({ method, path, body }))).toEqual([
        { method: "POST", path: `/repos/${repository}/dispatches`, body: event },
        { method: "POST", path: `/repos/${repository}/dispatches`, body: event },
      ]);
      expect(await statusOf(requestId)).toEqual({
        success: true,
        request_id: requestId,
        action: "execute",
        repository,
        status: "dispatched",
        attempts: 2,
        updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      expect(await auditUnder(requestId)).toEqual([
        { actor: "operator", action: "trigger", target: `${repository}:execute`, outcome: "queued" },
        { actor: "queue", action: "trigger", target: `${repository}:execute`, outcome: "ok" },
      ]);
      // Once GitHub has it, the payload is not kept.
      expect((await dispatchRow(requestId))?.client_payload).toBeNull();
    }
  }, 120_000);

  it.each([
    ["status-404", "GitHub answered 404: Not Found"],
    ["status-422", "GitHub answered 422: Validation Failed"],
    ["status-401", "GitHub answered 401: Bad credentials"],
    ["redirect", undefined],
  ])("answers GitHub's permanent %s at once, as before, and keeps nothing", async (failure, message) => {
    const repository = uniqueRepository();
    const { response, json } = await triggerTo(repository, [failure]);
    expect(response.status).toBe(502);
    expect(json).toEqual(errorBody(failure === "redirect" ? "upstream_unreachable" : "upstream_error", message));
    const requestId = response.headers.get("X-Request-Id") ?? "";
    expect(await dispatchRow(requestId)).toBeNull();
    expect(await receivedAbout(repository)).toHaveLength(1);
    expect((await triggerStatus(requestId)).response.status).toBe(404);
  });

  it("gives up after the queue's last retry: the dead-letter queue marks it failed, audited", async () => {
    const repository = uniqueRepository();
    // The first attempt and the queue's three deliveries all fail.
    const { response, json } = await triggerTo(repository, Array(4).fill("status-502"));
    expect(response.status).toBe(202);
    const requestId = json.request_id as string;
    await eventually(async () => expect((await statusOf(requestId)).status).toBe("failed"), 30_000);
    expect(await statusOf(requestId)).toMatchObject({ status: "failed", attempts: 4 });
    expect(await receivedAbout(repository)).toHaveLength(4);
    expect(await auditUnder(requestId)).toEqual([
      { actor: "operator", action: "trigger", target: `${repository}:execute`, outcome: "queued" },
      { actor: "queue", action: "trigger", target: `${repository}:execute`, outcome: "failed:dead_lettered" },
    ]);
  }, 60_000);

  it("stops retrying when GitHub refuses a queued trigger for good", async () => {
    const repository = uniqueRepository();
    const { json } = await triggerTo(repository, ["status-500", "status-404"]);
    const requestId = json.request_id as string;
    await eventually(async () => expect((await statusOf(requestId)).status).toBe("failed"), 30_000);
    expect(await statusOf(requestId)).toMatchObject({ status: "failed", attempts: 2 });
    expect(await auditUnder(requestId)).toEqual([
      { actor: "operator", action: "trigger", target: `${repository}:execute`, outcome: "queued" },
      { actor: "queue", action: "trigger", target: `${repository}:execute`, outcome: "failed:upstream_error" },
    ]);
  });
});

describe("Idempotency-Key", () => {
  it("makes a retried trigger start one run: the retry answers the first request's id and sends nothing", async () => {
    const repository = uniqueRepository();
    await scriptRepository(repository);
    const key = { "Idempotency-Key": `"${crypto.randomUUID()}"` };
    const vars = { HIVE_REPOSITORY: repository };
    const first = await postTrigger({ action: "plan", payload: { n: 1 } }, { vars, headers: key });
    const again = await postTrigger({ action: "plan", payload: { n: 1 } }, { vars, headers: key });
    expect(first.response.status).toBe(200);
    expect(again.response.status).toBe(200);
    expect(again.json).toEqual({ success: true, dispatched: true, request_id: first.json.request_id });
    expect(await receivedAbout(repository)).toHaveLength(1);
    expect(await auditUnder(again.response.headers.get("X-Request-Id") ?? "")).toEqual([
      { actor: "operator", action: "trigger", target: `${repository}:plan`, outcome: "replayed" },
    ]);
  });

  it("replays 202 for a trigger still queued, and the queue delivers it once", async () => {
    const repository = uniqueRepository();
    await scriptRepository(repository, ["status-500"]);
    const headers = { "Idempotency-Key": crypto.randomUUID() };
    const vars = { HIVE_REPOSITORY: repository };
    const first = await postTrigger({ action: "execute" }, { vars, headers });
    const retry = await postTrigger({ action: "execute" }, { vars, headers });
    expect([first.response.status, retry.response.status]).toEqual([202, 202]);
    expect(retry.json).toEqual({ success: true, queued: true, request_id: first.json.request_id });
    await eventually(async () => expect((await statusOf(first.json.request_id as string)).status).toBe("dispatched"));
    expect((await receivedAbout(repository)).map((call) => call.behaviour)).toEqual(["status-500", "ok"]);
  });

  it("refuses the same key with another request (422), and keys belong to their credential", async () => {
    const repository = uniqueRepository();
    await scriptRepository(repository);
    const headers = { "Idempotency-Key": crypto.randomUUID() };
    const vars = { HIVE_REPOSITORY: repository };
    expect((await postTrigger({ action: "plan" }, { vars, headers })).response.status).toBe(200);
    const other = await postTrigger({ action: "execute" }, { vars, headers });
    expect(other.response.status).toBe(422);
    expect(other.json).toEqual(
      errorBody("idempotency_key_reused", "Idempotency-Key was already used for a different request"),
    );
    // The connector's key space is its own: the same key starts its own dispatch there.
    expect((await postDispatch(repository, {}, headers)).status).toBe(200);
    expect(await receivedAbout(repository)).toHaveLength(2);
  });

  it.each([["a key with spaces"], [""], ["x".repeat(256)], ["tab\tinside"]])(
    "refuses the malformed key %j with 400 naming the header, and sends nothing",
    async (key) => {
      const repository = uniqueRepository();
      await scriptRepository(repository);
      const { response, json } = await postTrigger(
        { action: "plan" },
        { vars: { HIVE_REPOSITORY: repository }, headers: { "Idempotency-Key": key } },
      );
      expect(response.status).toBe(400);
      expect(json).toEqual(errorBody("invalid_request", "Idempotency-Key: must be 1-255 visible ASCII characters"));
      expect(await receivedAbout(repository)).toEqual([]);
    },
  );
});

describe("POST /chatgpt/dispatch and dispatch_task while GitHub fails for a while", () => {
  it("answers 202 with the dispatch's repository, then the queue delivers it; its status is Kora's to read", async () => {
    const repository = uniqueRepository();
    await scriptRepository(repository, ["status-504"]);
    const response = await postDispatch(repository, { client_payload: { task: "docs" } });
    expect(response.status).toBe(202);
    const requestId = response.headers.get("X-Request-Id");
    expect(await response.json()).toEqual({
      success: true,
      queued: true,
      repository,
      event_type: "hivemind-task",
      request_id: requestId,
    });
    const status = () =>
      relay(`/chatgpt/dispatch/${requestId}`, {
        headers: { Authorization: `Bearer ${CHATGPT_BEARER_TOKEN}`, "CF-Connecting-IP": uniqueIp() },
      });
    await eventually(async () =>
      expect(await (await status()).json()).toMatchObject({ status: "dispatched", attempts: 2 }),
    );
    expect(await (await status()).json()).toEqual({
      success: true,
      request_id: requestId,
      action: "hivemind-task",
      repository,
      status: "dispatched",
      attempts: 2,
      updated_at: expect.any(String),
    });
    expect((await receivedAbout(repository)).map((call) => call.body)).toEqual([
      { event_type: "hivemind-task", client_payload: { task: "docs" } },
      { event_type: "hivemind-task", client_payload: { task: "docs" } },
    ]);
    // RELAY_SECRET did not create it: as unknown to it as a dispatch that never existed.
    expect((await triggerStatus(requestId ?? "")).response.status).toBe(404);
  });

  it("queues through the MCP tool too", async () => {
    const repository = uniqueRepository();
    await scriptRepository(repository, ["reset"]);
    const session = await mcpSession({ behaviour: "ok" });
    const { result, audit } = await session.call("dispatch_task", {
      owner: "octo-org",
      repo: repository.split("/")[1],
    });
    expect(result.structuredContent).toEqual({
      queued: true,
      repository,
      event_type: "hivemind-task",
      request_id: session.requestIds.at(-1),
    });
    expect(audit).toEqual([{ actor: "mcp", action: "dispatch", target: repository, outcome: "queued", dry_run: 0 }]);
    await eventually(async () => expect(await receivedAbout(repository)).toHaveLength(2));
  });
});
