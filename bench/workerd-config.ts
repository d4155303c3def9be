/** Settings of one benchmark run's workerd process. */
export type WorkerdSetup = {
  relayPort: number;
  barePort: number;
  upstream: string;
  storageDir: string;
  compatibilityDate: string;
  vars: Record<string, string>;
};

/**
 * A workerd config that serves the built relay bundle and the bare pass-through Worker side by side. It binds
 * what the measured path needs: the rate limiter Durable Object on local SQLite storage, and the vars.
 */
export function workerdConfig(setup: WorkerdSetup): string {
  const text = (name: string, value: string) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(value)})`;
  const relayBindings = [
    ...Object.entries(setup.vars).map(([name, value]) => text(name, value)),
    `(name = "RATE_LIMITER", durableObjectNamespace = (className = "RateLimiter"))`,
  ];
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "relay", worker = .relay),
    (name = "bare", worker = .bare),
    (name = "loopback", network = (allow = ["local"])),
    (name = "rate-limiter-storage", disk = (path = ${JSON.stringify(setup.storageDir)}, writable = true)),
  ],
  sockets = [
    (name = "relay", address = "127.0.0.1:${setup.relayPort}", http = (), service = "relay"),
    (name = "bare", address = "127.0.0.1:${setup.barePort}", http = (), service = "bare"),
  ],
);

const relay :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed "relay/index.js")],
  compatibilityDate = "${setup.compatibilityDate}",
  bindings = [
    ${relayBindings.join(",\n    ")}
  ],
  durableObjectNamespaces = [(className = "RateLimiter", uniqueKey = "bench-rate-limiter", enableSql = true)],
  durableObjectStorage = (localDisk = "rate-limiter-storage"),
  globalOutbound = "loopback",
);

const bare :Workerd.Worker = (
  modules = [(name = "bare.js", esModule = embed "bare-worker.js")],
  compatibilityDate = "${setup.compatibilityDate}",
  bindings = [${text("UPSTREAM", setup.upstream)}, ${text("OPENAI_API_KEY", setup.vars.OPENAI_API_KEY ?? "")}],
  globalOutbound = "loopback",
);
`;
}
