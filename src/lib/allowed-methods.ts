type Route = { method: string; path: string };

/**
 * Which methods the routes accept at `path`, for a 405 with `Allow` instead of a 404 when only the method
 * is wrong. Hono paths use `:name` segments and a trailing `*`; middleware (method ALL) is ignored.
 */
export function allowedMethods(routes: readonly Route[], path: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    if (route.method !== "ALL" && patternOf(route.path).test(path)) methods.add(route.method);
  }
  return [...methods].sort();
}

const patterns = new Map<string, RegExp>();

function patternOf(path: string): RegExp {
  let pattern = patterns.get(path);
  if (!pattern) {
    const source = path
      .split("/")
      .map((segment) => {
        if (segment === "*") return ".*";
        if (segment.startsWith(":")) return segment.endsWith("{.+}") ? ".+" : "[^/]+";
        return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      })
      .join("/");
    pattern = new RegExp(`^${source}/?$`);
    patterns.set(path, pattern);
  }
  return pattern;
}
