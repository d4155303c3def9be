import { auditRoutes } from "./features/audit/routes";
import { billingRoutes } from "./features/billing/routes";
import { chatRoutes } from "./features/chat/routes";
import { connectorRoutes } from "./features/connector/routes";
import { consoleRoutes } from "./features/console/routes";
import { dispatchRoutes } from "./features/dispatches/routes";
import { embeddingsRoutes } from "./features/embeddings/routes";
import { healthRoutes } from "./features/health/routes";
import { keyRoutes } from "./features/keys/routes";
import { entitlementRoutes } from "./features/ledger/routes";
import { libraryRoutes } from "./features/library/routes";
import { mcpRoutes } from "./features/mcp/routes";
import { oauthRoutes } from "./features/oauth/routes";
import { webhookRoutes } from "./features/payments/routes";
import { responsesRoutes } from "./features/responses/routes";
import { triggerRoutes } from "./features/trigger/routes";
import { usageRoutes } from "./features/usage/routes";
import type { RouteSpec } from "./middleware/guard";

/**
 * Every route of the relay, as its feature declares it beside its handler: the inventory the tests walk
 * (auth matrix, security headers, fuzzing). A route mounted but not listed here, or the reverse, stops the
 * Worker from loading (`assertRoutesDeclared`).
 */
export const ROUTES = {
  ...healthRoutes,
  ...chatRoutes,
  ...responsesRoutes,
  ...embeddingsRoutes,
  ...connectorRoutes,
  ...triggerRoutes,
  ...auditRoutes,
  ...billingRoutes,
  ...entitlementRoutes,
  ...webhookRoutes,
  ...dispatchRoutes,
  ...libraryRoutes,
  ...keyRoutes,
  ...usageRoutes,
  ...mcpRoutes,
  ...oauthRoutes,
  ...consoleRoutes,
} as const satisfies Record<string, RouteSpec>;

export type RouteName = keyof typeof ROUTES;

/**
 * Throws unless the mounted routes and the inventory agree exactly, so that a route added without a
 * declared policy fails every test (and CI) instead of going out unguarded.
 */
export function assertRoutesDeclared(mounted: ReadonlyArray<{ method: string; path: string }>): void {
  const declared = new Set(Object.values(ROUTES).map((spec) => `${spec.method} ${spec.path}`));
  const actual = new Set(mounted.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`));
  const undeclared = [...actual].filter((key) => !declared.has(key));
  const unmounted = [...declared].filter((key) => !actual.has(key));
  if (undeclared.length > 0 || unmounted.length > 0) {
    throw new Error(
      `Route table out of date: undeclared ${undeclared.join(", ") || "none"}; unmounted ${unmounted.join(", ") || "none"}`,
    );
  }
}
