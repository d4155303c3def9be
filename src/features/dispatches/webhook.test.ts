import { describe, expect, it } from "vitest";
import { GITHUB_WEBHOOK_SECRET } from "../../../test/secrets";
import {
  auditUnder,
  deliverToRelay,
  dispatchRow,
  hubSignature,
  postTrigger,
  scriptRepository,
  triggerStatus,
  uniqueRepository,
  workflowRun,
} from "../../../test/support/dispatches";
import { captureLogs, errorBody } from "../../../test/support/relay";

// docs/api.md, "POST /webhooks/github"; GitHub docs, "Validating webhook deliveries" and "Webhook events and
// payloads" (workflow_run).

/** A trigger GitHub took, to a repository of the test's own: its request id and repository. */
async function dispatched(vars: Record<string, string> = {}) {
  const repository = uniqueRepository();
  await scriptRepository(repository);
  const { response, json } = await postTrigger({ action: "plan" }, { vars: { HIVE_REPOSITORY: repository, ...vars } });
  expect(response.status).toBe(200);
  return { requestId: json.request_id as string, repository };
}

const statusOf = async (requestId: string) => (await triggerStatus(requestId)).json;

describe("POST /webhooks/github", () => {
  it("moves a trigger to running, then to completed with its conclusion and run, audited under its id", async () => {
    const { requestId, repository } = await dispatched();
    const requested = await deliverToRelay(workflowRun({ requestId, repository, action: "requested" }));
    expect(requested.response.status).toBe(200);
    expect(requested.json).toEqual({
      success: true,
      delivery_id: expect.any(String),
      outcome: "recorded",
      request_id: requestId,
      status: "running",
    });
    expect(await statusOf(requestId)).toMatchObject({ status: "running", run_url: expect.any(String) });

    const completed = await deliverToRelay(
      workflowRun({ requestId, repository, action: "completed", conclusion: "failure" }),
    );
    expect(completed.json).toMatchObject({ outcome: "recorded", status: "completed" });
    expect(await statusOf(requestId)).toEqual({
      success: true,
      request_id: requestId,
      action: "plan",
      repository,
      status: "completed",
      conclusion: "failure",
      run_url: `https://github.com/${repository}/actions/runs/9000001`,
      attempts: 1,
      updated_at: expect.any(String),
    });
    expect(await auditUnder(requestId)).toEqual([
      { actor: "operator", action: "trigger", target: `${repository}:plan`, outcome: "ok" },
      { actor: "github", action: "webhook", target: `${repository}:plan`, outcome: "running" },
      { actor: "github", action: "webhook", target: `${repository}:plan`, outcome: "completed:failure" },
    ]);
  });

  it("applies a delivery once: the same X-GitHub-Delivery again changes nothing", async () => {
    const { requestId, repository } = await dispatched();
    const delivery = crypto.randomUUID();
    const event = workflowRun({ requestId, repository, action: "completed" });
    const first = await deliverToRelay(event, { delivery });
    const again = await deliverToRelay(event, { delivery });
    expect(first.json).toMatchObject({ outcome: "recorded" });
    expect(again.response.status).toBe(200);
    expect(again.json).toEqual({ success: true, delivery_id: delivery, outcome: "duplicate" });
    expect((await auditUnder(requestId)).filter((row) => row.actor === "github")).toHaveLength(1);
  });

  it("ignores a stale event (out of order) and records a re-run's newer attempt", async () => {
    const { requestId, repository } = await dispatched();
    await deliverToRelay(workflowRun({ requestId, repository, action: "completed", conclusion: "success" }));
    const late = await deliverToRelay(workflowRun({ requestId, repository, action: "in_progress" }));
    expect(late.json).toMatchObject({ outcome: "ignored", reason: "stale" });
    expect(await statusOf(requestId)).toMatchObject({ status: "completed", conclusion: "success" });

    const rerun = await deliverToRelay(workflowRun({ requestId, repository, action: "requested", runAttempt: 2 }));
    expect(rerun.json).toMatchObject({ outcome: "recorded", status: "running" });
    const status = await statusOf(requestId);
    expect(status.status).toBe("running");
    expect(status.conclusion).toBeUndefined();
  });

  it("records a run of a trigger that is still queued: GitHub took it, so the queue does not send it again", async () => {
    const repository = uniqueRepository();
    // GitHub answers 500 although it did take the event; the queue then finds GitHub down for a while longer.
    await scriptRepository(repository, ["status-500", "status-500", "status-500", "status-500"]);
    const { json } = await postTrigger({ action: "plan" }, { vars: { HIVE_REPOSITORY: repository } });
    const requestId = json.request_id as string;
    const run = await deliverToRelay(workflowRun({ requestId, repository, action: "in_progress" }));
    expect(run.json).toMatchObject({ outcome: "recorded", status: "running" });
    expect(await dispatchRow(requestId)).toMatchObject({ status: "running", client_payload: null });
  });

  it.each([
    ["a signature made with another secret", async (body: string) => hubSignature(body, "another-secret")],
    ["no signature", async () => null],
    ["a SHA-1 signature (X-Hub-Signature's scheme)", async () => `sha1=${"0".repeat(40)}`],
    ["a signature that is not hex", async () => `sha256=${"z".repeat(64)}`],
    ["the signature of another body", async () => hubSignature("{}")],
  ])("refuses %s with 400 and changes nothing", async (_, sign) => {
    const { requestId, repository } = await dispatched();
    const event = workflowRun({ requestId, repository, action: "completed" });
    const { response, json } = await deliverToRelay(event, { signature: await sign(JSON.stringify(event)) });
    expect(response.status).toBe(400);
    expect(json).toEqual(errorBody("invalid_signature"));
    expect(await statusOf(requestId)).toMatchObject({ status: "dispatched" });
    expect(await auditUnder(requestId)).toHaveLength(1);
  });

  it("verifies the raw bytes: a body re-encoded after signing is refused", async () => {
    const { requestId, repository } = await dispatched();
    const event = workflowRun({ requestId, repository, action: "completed" });
    const signed = JSON.stringify(event);
    const { response } = await deliverToRelay(JSON.stringify(event, null, 2), {
      signature: await hubSignature(signed),
    });
    expect(response.status).toBe(400);
  });

  it.each([
    ["a repository outside ALLOWED_REPOS and HIVE_REPOSITORY", "elsewhere/hive", "repository_not_allowed"],
    ["another allowed repository than the trigger's", "octo/hivemind", "no_dispatch"],
  ])("acknowledges and ignores a run from %s that names a trigger's id", async (_, from, reason) => {
    const { requestId } = await dispatched();
    const { response, json } = await deliverToRelay(workflowRun({ requestId, repository: from }));
    expect(response.status).toBe(200);
    expect(json).toMatchObject({ success: true, outcome: "ignored", reason });
    expect(await statusOf(requestId)).toMatchObject({ status: "dispatched" });
  });

  it.each([
    ["an id no trigger has", crypto.randomUUID()],
    ["no id in its name", null],
  ])("acknowledges and ignores a run with %s", async (_, requestId) => {
    const { json } = await deliverToRelay(workflowRun({ requestId, repository: "octo/hive" }));
    expect(json).toMatchObject({ success: true, outcome: "ignored", reason: "no_dispatch" });
  });

  it("accepts runs of HIVE_REPOSITORY even outside ALLOWED_REPOS (octo/hive here)", async () => {
    const { requestId } = await dispatched({ HIVE_REPOSITORY: "octo/hive" });
    const { json } = await deliverToRelay(workflowRun({ requestId, repository: "Octo/Hive" }));
    expect(json).toMatchObject({ outcome: "recorded" });
  });

  it("acknowledges ping and other events without reading them", async () => {
    for (const event of ["ping", "push", "workflow_job"]) {
      const { response, json } = await deliverToRelay({ zen: "Design for failure." }, { event });
      expect(response.status).toBe(200);
      expect(json).toMatchObject({ success: true, outcome: "ignored", reason: "event" });
    }
  });

  it("records only the runs HIVE_EVENT_FILTER names, by workflow name and conclusion", async () => {
    const filter = JSON.stringify({ workflows: ["Hivemind foreman"], conclusions: ["failure", "cancelled"] });
    const vars = { HIVE_EVENT_FILTER: filter };
    const { requestId, repository } = await dispatched();
    const other = await deliverToRelay(workflowRun({ requestId, repository, name: "CI" }), { vars });
    expect(other.json).toMatchObject({ outcome: "ignored", reason: "filtered" });
    const running = await deliverToRelay(workflowRun({ requestId, repository }), { vars });
    expect(running.json).toMatchObject({ outcome: "recorded", status: "running" });
    const success = await deliverToRelay(workflowRun({ requestId, repository, action: "completed" }), { vars });
    expect(success.json).toMatchObject({ outcome: "ignored", reason: "filtered" });
    const failure = await deliverToRelay(
      workflowRun({ requestId, repository, action: "completed", conclusion: "failure" }),
      { vars },
    );
    expect(failure.json).toMatchObject({ outcome: "recorded", status: "completed" });
  });

  it.each([
    [{ GITHUB_WEBHOOK_SECRET: undefined }, "GITHUB_WEBHOOK_SECRET is not set"],
    [{ HIVE_EVENT_FILTER: "{workflows" }, "HIVE_EVENT_FILTER is invalid"],
    [{ HIVE_EVENT_FILTER: '{"workflow":["CI"]}' }, "HIVE_EVENT_FILTER is invalid"],
  ])("answers 503 when its configuration is unusable (%j)", async (vars, problem) => {
    const { response, json } = await deliverToRelay(workflowRun({ requestId: null, repository: "octo/hive" }), {
      vars,
    });
    expect(response.status).toBe(503);
    expect(json).toEqual(errorBody("not_configured", `The relay is not configured: ${problem}`));
  });

  it("refuses a delivery without X-GitHub-Delivery or with a malformed body", async () => {
    const missing = await deliverToRelay(workflowRun({ requestId: null, repository: "octo/hive" }), { delivery: "" });
    expect(missing.response.status).toBe(400);
    expect(missing.json).toEqual(errorBody("invalid_request", "X-GitHub-Delivery: must be GitHub's delivery GUID"));
    const malformed = await deliverToRelay({ action: "completed", workflow_run: { id: "x" } });
    expect(malformed.response.status).toBe(400);
    expect(malformed.json).toEqual(errorBody("invalid_request"));
  });

  it("keeps the webhook secret out of logs and bodies", async () => {
    const { requestId, repository } = await dispatched();
    const { result, logs } = await captureLogs(() =>
      deliverToRelay(workflowRun({ requestId, repository }), { signature: "sha256=00" }),
    );
    expect(result.response.status).toBe(400);
    expect(JSON.stringify(result.json)).not.toContain(GITHUB_WEBHOOK_SECRET);
    expect(logs).not.toContain(GITHUB_WEBHOOK_SECRET);
    expect(logs).toContain('"route":"/webhooks/github"');
  });
});
