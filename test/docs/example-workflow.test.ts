import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { newsOf } from "../../src/features/dispatches/run-events";

const workflow = readFileSync(resolve(import.meta.dirname, "../../examples/hivemind-foreman.yml"), "utf8");

describe("examples/hivemind-foreman.yml", () => {
  it("listens for the relay's default event type", () => {
    expect(/^\s+types: \[([^\]]*)\]$/m.exec(workflow)?.[1]?.split(/,\s*/)).toContain("hivemind-foreman");
  });

  it("names its run with the request id, so that the relay matches GitHub's run events to the trigger", () => {
    const template = /^run-name: "(.*)"$/m.exec(workflow)?.[1] ?? "";
    const requestId = "3f2b8c1e-5d4a-4e7b-9c0d-1a2b3c4d5e6f";
    const title = template
      .replace(/\$\{\{ github\.event\.client_payload\.action \}\}/, "plan")
      .replace(/\$\{\{ github\.event\.client_payload\.request_id \}\}/, requestId);
    expect(title).toBe(`Hivemind foreman: plan [${requestId}]`);
    const event = {
      action: "in_progress",
      workflow_run: {
        id: 1,
        name: "Hivemind foreman",
        display_title: title,
        html_url: "https://github.com/o/r/actions/runs/1",
        conclusion: null,
      },
      repository: { full_name: "octo/hive" },
    };
    expect(newsOf(event, { allowedRepos: [], hiveRepository: "octo/hive", filter: undefined })).toMatchObject({
      requestId,
      repository: "octo/hive",
      update: { status: "running" },
    });
  });
});
