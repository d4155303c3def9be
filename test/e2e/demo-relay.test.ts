import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoUpstream, demoReply, startDemoUpstream, usesDemoUpstream } from "../../scripts/demo-upstream.mjs";
import { createDevVars, DEV_VARS_EXAMPLE_PATH, readDevVars } from "../../scripts/dev-vars.mjs";
import { demoVarArgs } from "../../scripts/start.mjs";
import { type DevServer, startDevServer } from "./dev-server";

// A newcomer's first `npm start`, as start.mjs does it: .dev.vars from the committed example, the demo
// upstream (OPENAI_API_KEY is empty), and `wrangler dev --var …`. Its own relay: the shared one talks to the
// OpenAI stand-in. Here --var must win over .dev.vars, whose OPENAI_BASE_URL names api.openai.com.
describe("a fresh clone's `npm start`: the relay with the offline demo upstream", () => {
  let dir: string;
  let vars: Record<string, string>;
  let demo: DemoUpstream;
  let relay: DevServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "demo-relay-"));
    const devVars = join(dir, ".dev.vars");
    createDevVars(DEV_VARS_EXAMPLE_PATH, devVars);
    vars = readDevVars(devVars);
    expect(usesDemoUpstream(vars)).toBe(true);
    // What a developer might have left in .dev.vars: the overrides must win over it.
    appendFileSync(devVars, "OPENAI_BASE_URL=https://api.openai.com/v1\n");
    demo = await startDemoUpstream();
    relay = await startDevServer({}, { envFile: devVars, args: demoVarArgs(demo.url) });
  });

  afterAll(async () => {
    await relay?.stop();
    await demo?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const client = () => new OpenAI({ baseURL: `${relay.url}/v1`, apiKey: vars.RELAY_SECRET, maxRetries: 0 });

  it("answers the openai SDK with the demo's reply", async () => {
    const completion = await client().chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hello" }],
    });
    expect(completion.model).toBe("demo");
    expect(completion.choices[0]?.message.content).toBe(demoReply(1));
  });

  it("streams the demo's reply", async () => {
    const stream = await client().chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hello" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(demoReply(1));
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it("dry-runs the operator trigger with the example's HIVE_REPOSITORY (a .dev.vars override of a Worker var)", async () => {
    const response = await fetch(`${relay.url}/trigger-hive`, {
      method: "POST",
      headers: { Authorization: `Bearer ${vars.RELAY_SECRET}`, "Content-Type": "application/json" },
      body: JSON.stringify({ action: "plan", dry_run: true }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      success: true,
      dry_run: true,
      would_dispatch: { repository: "your-org/hive", event_type: "hivemind-foreman" },
    });
  });

  it("takes the example's ALLOWED_REPOS: a foreign repository is refused before any GitHub call", async () => {
    const response = await fetch(`${relay.url}/chatgpt/dispatch`, {
      method: "POST",
      headers: { Authorization: `Bearer ${vars.CHATGPT_BEARER_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ owner: "someone-else", repo: "hive" }),
    });
    expect(response.status).toBe(403);
  });
});
