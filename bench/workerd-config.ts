/** Settings of one benchmark run's workerd process. */
export type WorkerdSetup = {
  relayPort: number;
  barePort: number;
  helloPort: number;
  databasePort: number;
  partsPort: number;
  upstream: string;
  storageDir: string;
  compatibilityDate: string;
  vars: Record<string, string>;
  /** FLOOD_GUARD's limit per minute (raised so that the benchmark is not refused). */
  floodGuardPerMinute: number;
};

/**
 * A workerd config that serves the built relay bundle, the bare pass-through Worker and the hello-world Worker
 * (the floor: bench/hello-worker.js) side by side, with the
 * bindings the chat path uses as wrangler.jsonc declares them: the RateLimiter and Meter Durable Objects on
 * local SQLite storage, FLOOD_GUARD (bench/flood-guard.js), D1 (bench/d1-shim.js, also on a socket of its own
 * so that the benchmark can apply the migrations), and the vars. Queues, KV and R2 are not on the chat path
 * and not bound. A third Worker, bench/parts-worker.ts, runs the relay's parts one at a time.
 */
export function workerdConfig(setup: WorkerdSetup): string {
  const text = (name: string, value: string) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(value)})`;
  const json = (name: string, value: unknown) =>
    `(name = ${JSON.stringify(name)}, json = ${JSON.stringify(JSON.stringify(value))})`;
  const floodGuard = `(name = "FLOOD_GUARD", wrapped = (moduleName = "bench:flood-guard", innerBindings = [${json("limit", setup.floodGuardPerMinute)}, ${json("period", 60)}]))`;
  const relayBindings = [
    ...Object.entries(setup.vars).map(([name, value]) => text(name, value)),
    `(name = "RATE_LIMITER", durableObjectNamespace = (className = "RateLimiter"))`,
    `(name = "METER", durableObjectNamespace = (className = "Meter"))`,
    `(name = "DB", wrapped = (moduleName = "cloudflare-internal:d1-api", innerBindings = [(name = "fetcher", service = "database")]))`,
    floodGuard,
  ];
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "relay", worker = .relay),
    (name = "bare", worker = .bare),
    (name = "hello", worker = .hello),
    (name = "database", worker = .database),
    (name = "parts", worker = .parts),
    (name = "loopback", network = (allow = ["local"])),
    (name = "storage", disk = (path = ${JSON.stringify(setup.storageDir)}, writable = true)),
  ],
  sockets = [
    (name = "relay", address = "127.0.0.1:${setup.relayPort}", http = (), service = "relay"),
    (name = "bare", address = "127.0.0.1:${setup.barePort}", http = (), service = "bare"),
    (name = "hello", address = "127.0.0.1:${setup.helloPort}", http = (), service = "hello"),
    (name = "database", address = "127.0.0.1:${setup.databasePort}", http = (), service = "database"),
    (name = "parts", address = "127.0.0.1:${setup.partsPort}", http = (), service = "parts"),
  ],
  extensions = [(modules = [(name = "bench:flood-guard", esModule = embed "flood-guard.js", internal = true)])],
);

const relay :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed "relay/index.js")],
  compatibilityDate = "${setup.compatibilityDate}",
  bindings = [
    ${relayBindings.join(",\n    ")}
  ],
  durableObjectNamespaces = [
    (className = "RateLimiter", uniqueKey = "bench-rate-limiter", enableSql = true),
    (className = "Meter", uniqueKey = "bench-meter", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "storage"),
  globalOutbound = "loopback",
);

const bare :Workerd.Worker = (
  modules = [(name = "bare.js", esModule = embed "bare-worker.js")],
  compatibilityDate = "${setup.compatibilityDate}",
  bindings = [${text("UPSTREAM", setup.upstream)}, ${text("OPENAI_API_KEY", setup.vars.OPENAI_API_KEY ?? "")}],
  globalOutbound = "loopback",
);

const hello :Workerd.Worker = (
  modules = [(name = "hello.js", esModule = embed "hello-worker.js")],
  compatibilityDate = "${setup.compatibilityDate}",
);

const database :Workerd.Worker = (
  modules = [(name = "d1-shim.js", esModule = embed "d1-shim.js")],
  compatibilityDate = "${setup.compatibilityDate}",
  bindings = [(name = "DATABASE", durableObjectNamespace = (className = "Database"))],
  durableObjectNamespaces = [(className = "Database", uniqueKey = "bench-database", enableSql = true)],
  durableObjectStorage = (localDisk = "storage"),
);

const parts :Workerd.Worker = (
  modules = [(name = "parts.js", esModule = embed "parts/parts-worker.js")],
  compatibilityDate = "${setup.compatibilityDate}",
  bindings = [
    (name = "METER", durableObjectNamespace = (className = "Meter", serviceName = "relay")),
    (name = "RATE_LIMITER", durableObjectNamespace = (className = "RateLimiter", serviceName = "relay")),
    ${floodGuard},
  ],
);
`;
}
