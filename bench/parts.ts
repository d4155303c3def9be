// Times each of the relay's per-request parts (bench/parts-worker.ts) from outside workerd: a request that
// runs a part N times, minus one that runs nothing N times, divided by N; the median of several tries. Both
// the wall time and workerd's CPU time (from /proc) are measured: a Durable Object call waits for storage
// more than it computes.
import { readFileSync } from "node:fs";

const N = 1000;
const TRIES = 5;

/** CPU time (user + system) a process has used so far, from /proc (Linux), in milliseconds. */
export function cpuMillis(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function timed(url: string, pid: number | undefined): Promise<{ wall: number; cpu: number }> {
  const [started, cpu] = [performance.now(), cpuMillis(pid)];
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  await response.text();
  return { wall: performance.now() - started, cpu: cpuMillis(pid) - cpu };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** Microseconds per call of each part (wall and CPU), in the parts Worker at `base` of workerd `pid`. */
export async function measureParts(
  base: string,
  pid: number | undefined,
): Promise<Record<string, { wall: number; cpu: number }>> {
  const names = ((await (await fetch(base)).json()) as string[]).filter((name) => name !== "empty");
  const at = (name: string) => `${base}/${encodeURIComponent(name)}?n=${N}`;
  for (const name of names) await timed(at(name), pid);
  const results: Record<string, { wall: number; cpu: number }> = {};
  for (const name of names) {
    const walls: number[] = [];
    const cpus: number[] = [];
    for (let i = 0; i < TRIES; i++) {
      const part = await timed(at(name), pid);
      const empty = await timed(at("empty"), pid);
      walls.push(part.wall - empty.wall);
      cpus.push(part.cpu - empty.cpu);
    }
    results[name] = { wall: (median(walls) * 1000) / N, cpu: (median(cpus) * 1000) / N };
  }
  return results;
}
