import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { postTrigger, receivedAbout, scriptRepository, uniqueRepository } from "../../../test/support/dispatches";
import { errorBody } from "../../../test/support/relay";
import { assertConfig } from "../../lib/config";
import { runStatusLoadConfig } from "../dispatches/schema";
import { triggerLoadConfig } from "./schema";

// docs/api.md, "Configuration" (HIVE_ROUTES) and "POST /trigger-hive".

const routes = (table: Record<string, unknown>) => ({ HIVE_ROUTES: JSON.stringify(table) });

describe("HIVE_ROUTES", () => {
  it("sends each action to its own repository and event type; unrouted actions keep HIVE_REPOSITORY", async () => {
    const [planner, fallback] = [uniqueRepository(), uniqueRepository()];
    await scriptRepository(planner);
    await scriptRepository(fallback);
    const vars = {
      HIVE_REPOSITORY: fallback,
      ...routes({ plan: { repository: planner, event_type: "hivemind-plan" } }),
    };
    const plan = await postTrigger({ action: "plan" }, { vars });
    const execute = await postTrigger({ action: "execute" }, { vars });
    expect([plan.response.status, execute.response.status]).toEqual([200, 200]);
    expect((await receivedAbout(planner)).map(({ path, body }) => ({ path, body }))).toEqual([
      {
        path: `/repos/${planner}/dispatches`,
        body: {
          event_type: "hivemind-plan",
          client_payload: { action: "plan", payload: {}, request_id: plan.json.request_id },
        },
      },
    ]);
    expect((await receivedAbout(fallback)).map(({ body }) => (body as { event_type: string }).event_type)).toEqual([
      "hivemind-foreman",
    ]);
  });

  it("shows the route a dry run chose, and sends nothing", async () => {
    const planner = uniqueRepository();
    await scriptRepository(planner);
    const vars = {
      HIVE_REPOSITORY: "",
      ...routes({ plan: { repository: planner }, execute: { repository: planner } }),
    };
    const { response, json } = await postTrigger({ action: "plan", dry_run: true }, { vars });
    expect(response.status).toBe(200);
    expect(json).toEqual({
      success: true,
      dry_run: true,
      route: "HIVE_ROUTES",
      would_dispatch: {
        repository: planner,
        event_type: "hivemind-foreman",
        client_payload: { action: "plan", payload: {}, request_id: response.headers.get("X-Request-Id") },
      },
    });
    expect(await receivedAbout(planner)).toEqual([]);
  });

  it.each([
    ["a route outside ALLOWED_REPOS", routes({ plan: { repository: "evil/hive" } })],
    ["a route for an action outside HIVE_ACTIONS", routes({ deploy: { repository: "octo/hivemind" } })],
    ["a route that is not owner/repo", routes({ plan: { repository: "hive" } })],
    ["a route with an unknown field", routes({ plan: { repository: "octo/hivemind", branch: "main" } })],
    ["a table that is not JSON", { HIVE_ROUTES: "plan=octo/hivemind" }],
  ])("answers 503 naming HIVE_ROUTES for %s", async (_, vars) => {
    const { response, json } = await postTrigger({ action: "plan", dry_run: true }, { vars });
    expect(response.status).toBe(503);
    expect(json).toEqual(errorBody("not_configured", "The relay is not configured: HIVE_ROUTES is invalid"));
  });

  it("needs HIVE_REPOSITORY only for actions without a route", async () => {
    const vars = { HIVE_REPOSITORY: "", ...routes({ plan: { repository: "octo/hivemind" } }) };
    const { response, json } = await postTrigger({ action: "plan", dry_run: true }, { vars });
    expect(response.status).toBe(503);
    expect(json).toEqual(errorBody("not_configured", "The relay is not configured: HIVE_REPOSITORY is not set"));
  });
});

describe("HIVE_ROUTES and HIVE_EVENT_FILTER when the Worker loads", () => {
  const load = (vars: Record<string, string>) => () => assertConfig({ ...env, ...vars } as Env, triggerLoadConfig);

  it("loads with this test run's configuration, with no table, and with a table inside ALLOWED_REPOS", () => {
    expect(load({})).not.toThrow();
    expect(load({ HIVE_ROUTES: "" })).not.toThrow();
    expect(load(routes({ plan: { repository: "Octo-Org/planner", event_type: "plan" } }))).not.toThrow();
  });

  it.each([
    [
      routes({ plan: { repository: "evil/hive" } }),
      "The relay is not configured: HIVE_ROUTES is invalid (plan): the action plan goes to evil/hive, which is not in ALLOWED_REPOS",
    ],
    [
      { ...routes({ plan: { repository: "octo/hivemind" } }), ALLOWED_REPOS: "" },
      "The relay is not configured: HIVE_ROUTES is invalid (plan): the action plan goes to octo/hivemind, which is not in ALLOWED_REPOS",
    ],
    [
      routes({ deploy: { repository: "octo/hivemind" } }),
      "The relay is not configured: HIVE_ROUTES is invalid (deploy): routes the action deploy, which is not in HIVE_ACTIONS (execute, plan)",
    ],
    [{ HIVE_ROUTES: "{plan" }, "The relay is not configured: HIVE_ROUTES is invalid: is not valid JSON"],
  ])("stops the Worker with a message that says what is wrong (%j)", (vars, message) => {
    expect(load(vars)).toThrow(new Error(message));
  });

  it("stops the Worker for a HIVE_EVENT_FILTER it cannot read", () => {
    const filter = (value: string) => () =>
      assertConfig({ ...env, HIVE_EVENT_FILTER: value } as Env, runStatusLoadConfig);
    expect(filter('{"workflows":["Hivemind foreman"],"conclusions":["failure"]}')).not.toThrow();
    expect(filter('{"workflow":["CI"]}')).toThrow(
      new Error('The relay is not configured: HIVE_EVENT_FILTER is invalid: Unrecognized key: "workflow"'),
    );
  });
});
