import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, RELAY_SECRET } from "../../../test/secrets";
import {
  auditUnder,
  postTrigger,
  receivedAbout,
  scriptRepository,
  triggerStatus,
  uniqueRepository,
} from "../../../test/support/dispatches";
import { createKey } from "../../../test/support/keys";
import { errorBody, relay, uniqueIp } from "../../../test/support/relay";

// docs/api.md, "Devices with keys of their own": relay keys with the trigger scope (POST /admin/keys).

/** A repository of the test's own and the vars that send triggers there. */
async function target() {
  const repository = uniqueRepository();
  await scriptRepository(repository);
  return { repository, vars: { HIVE_REPOSITORY: repository } };
}

describe("POST /trigger-hive with a relay key", () => {
  it("triggers with a key of the trigger scope: audited as the key, and only that key reads the status", async () => {
    const { repository, vars } = await target();
    const phone = await createKey({ scopes: ["trigger"] });
    const { response, json } = await postTrigger({ action: "plan" }, { credential: phone.secret, vars });
    expect(response.status).toBe(200);
    const requestId = json.request_id as string;
    expect(await receivedAbout(repository)).toHaveLength(1);
    expect(await auditUnder(requestId)).toEqual([
      { actor: `key:${phone.id}`, action: "trigger", target: `${repository}:plan`, outcome: "ok" },
    ]);

    const own = await triggerStatus(requestId, phone.secret);
    expect(own.response.status).toBe(200);
    expect(own.json).toMatchObject({ request_id: requestId, status: "dispatched", repository, action: "plan" });
    // Another device's key and the shared RELAY_SECRET do not see it.
    const other = await createKey({ scopes: ["trigger"] });
    for (const credential of [other.secret, RELAY_SECRET]) {
      const { response: refused, json: body } = await triggerStatus(requestId, credential);
      expect(refused.status).toBe(404);
      expect(body).toEqual(errorBody("dispatch_not_found", `No dispatch ${requestId} of this credential`));
    }
  });

  it("refuses a key without the trigger scope with 403, and sends nothing", async () => {
    const { repository, vars } = await target();
    const chatOnly = await createKey({ scopes: ["chat"] });
    const { response, json } = await postTrigger({ action: "plan" }, { credential: chatOnly.secret, vars });
    expect(response.status).toBe(403);
    expect(json).toEqual(errorBody("scope_not_allowed", "This relay key may not trigger (scope trigger)"));
    expect(await receivedAbout(repository)).toEqual([]);
    expect((await triggerStatus(crypto.randomUUID(), chatOnly.secret)).response.status).toBe(403);
  });

  it("refuses a revoked key, an unknown key and a tampered secret with 401", async () => {
    const { repository, vars } = await target();
    const key = await createKey({ scopes: ["trigger"] });
    expect((await postTrigger({ action: "plan" }, { credential: key.secret, vars })).response.status).toBe(200);
    const revoked = await relay(`/admin/keys/${key.id}/revoke`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "CF-Connecting-IP": uniqueIp() },
    });
    expect(revoked.status).toBe(200);
    const tampered = `${key.secret.slice(0, -1)}${key.secret.endsWith("A") ? "B" : "A"}`;
    for (const credential of [key.secret, "smr_0123456789abcdef_x", tampered]) {
      const { response, json } = await postTrigger({ action: "plan" }, { credential, vars });
      expect(response.status).toBe(401);
      expect(json).toEqual(errorBody("unauthorized"));
    }
    expect(await receivedAbout(repository)).toHaveLength(1);
  });

  it("limits each key by its own per-minute limit, apart from RELAY_SECRET and other keys on the same IP", async () => {
    const { repository, vars } = await target();
    const ip = uniqueIp();
    const limited = await createKey({ scopes: ["trigger"], rate_limit_per_minute: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await postTrigger({ action: "plan" }, { credential: limited.secret, vars, ip })).response.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    const refused = await postTrigger({ action: "plan" }, { credential: limited.secret, vars, ip });
    expect(refused.json).toEqual(errorBody("rate_limited"));
    expect(refused.response.headers.get("RateLimit-Policy")).toBe('"subject";q=2;w=60');
    // The IP is not the bucket: the relay secret and another key from it still pass.
    const other = await createKey({ scopes: ["trigger"] });
    expect((await postTrigger({ action: "plan" }, { credential: other.secret, vars, ip })).response.status).toBe(200);
    expect((await postTrigger({ action: "plan" }, { vars, ip })).response.status).toBe(200);
    expect(await receivedAbout(repository)).toHaveLength(4);
  });

  it("gives a key without a limit of its own TRIGGER_RATE_LIMIT per minute", async () => {
    const { vars } = await target();
    const key = await createKey({ scopes: ["chat", "trigger"] });
    const limitedVars = { ...vars, TRIGGER_RATE_LIMIT: "1" };
    const first = await postTrigger({ action: "plan", dry_run: true }, { credential: key.secret, vars: limitedVars });
    const second = await postTrigger({ action: "plan", dry_run: true }, { credential: key.secret, vars: limitedVars });
    expect([first.response.status, second.response.status]).toEqual([200, 429]);
  });
});
