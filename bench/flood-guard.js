// The benchmark's Rate Limiting binding (FLOOD_GUARD): a counter per key and fixed window, in the isolate's
// memory. Cloudflare keeps these counters on the machine that runs the Worker and syncs them in the
// background, so `limit()` answers without a network round trip; Miniflare simulates it with a Durable
// Object call per `limit()`, which would make the benchmark measure the simulation instead.
export default function floodGuard(env) {
  const limit = Number(env.limit);
  const periodMs = Number(env.period) * 1000;
  const counts = new Map();
  return {
    async limit({ key }) {
      const window = Math.floor(Date.now() / periodMs);
      const id = `${window}|${key}`;
      const count = (counts.get(id) ?? 0) + 1;
      if (counts.size > 10_000) counts.clear();
      counts.set(id, count);
      return { success: count <= limit };
    },
  };
}
