import { describe, expect, it } from "vitest";
import { app } from "./index";
import { assertRoutesDeclared, ROUTES } from "./routes";

describe("the route table", () => {
  it("declares exactly the routes the Worker mounts", () => {
    expect(() => assertRoutesDeclared(app.routes)).not.toThrow();
    const mounted = new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`));
    expect([...mounted].sort()).toEqual(
      Object.values(ROUTES)
        .map((spec) => `${spec.method} ${spec.path}`)
        .sort(),
    );
  });

  it("refuses a mounted route that has no declared policy", () => {
    const extra = [...app.routes, { method: "POST", path: "/admin/new-thing" }];
    expect(() => assertRoutesDeclared(extra)).toThrow("undeclared POST /admin/new-thing");
  });

  it("refuses a declared route that is not mounted", () => {
    const missing = app.routes.filter((r) => r.path !== ROUTES.grant.path);
    expect(() => assertRoutesDeclared(missing)).toThrow("unmounted POST /entitlements/grant");
  });

  it("puts a rate limit on every route that takes a credential, except signed webhooks", () => {
    const unlimited = Object.entries(ROUTES)
      .filter(([, spec]) => spec.rateLimit === null && spec.auth !== "none")
      .map(([name]) => name);
    expect(unlimited.sort()).toEqual(["githubWebhook", "paymentWebhook", "stripeWebhook"]);
  });
});
