import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, RELAY_SECRET } from "../../test/secrets";
import { errorBody, relay, uniqueIp } from "../../test/support/relay";
import { assertConfig } from "../lib/config";
import { sharedSecretsLoadConfig } from "./identify";

describe("who is calling (src/caller/identify.ts)", () => {
  it("takes X-Relay-Secret for RELAY_SECRET only, never as another secret", async () => {
    const asHeader = await relay("/admin/keys", {
      headers: { "X-Relay-Secret": ADMIN_TOKEN, "CF-Connecting-IP": uniqueIp() },
    });
    expect(asHeader.status).toBe(401);
    expect(await asHeader.json()).toEqual(errorBody("unauthorized"));
    const asBearer = await relay("/admin/keys", {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "CF-Connecting-IP": uniqueIp() },
    });
    expect(asBearer.status).toBe(200);
  });

  it("never takes one shared secret for another", async () => {
    const relaySecretAsAdmin = await relay("/admin/keys", {
      headers: { Authorization: `Bearer ${RELAY_SECRET}`, "CF-Connecting-IP": uniqueIp() },
    });
    expect(relaySecretAsAdmin.status).toBe(401);
  });

  it("stops the Worker from loading when two shared secrets are the same, naming them but not their value", () => {
    const load = (vars: Record<string, string>) => () =>
      assertConfig({ ...env, ...vars } as Env, sharedSecretsLoadConfig);
    expect(load({})).not.toThrow();
    expect(load({ RELAY_SECRET: ADMIN_TOKEN })).toThrow(
      "The relay is not configured: RELAY_SECRET is invalid: must differ from ADMIN_TOKEN",
    );
    expect(load({ CHATGPT_BEARER_TOKEN: RELAY_SECRET })).toThrow(
      /CHATGPT_BEARER_TOKEN is invalid: must differ from RELAY_SECRET$/,
    );
    try {
      load({ CHATGPT_BEARER_TOKEN: ADMIN_TOKEN })();
    } catch (error) {
      expect(String(error)).not.toContain(ADMIN_TOKEN);
    }
  });
});
