/** How long a queue waits before delivering a message again, by attempt: `base`, then doubling, at most 1 h. */
export function retryDelaySeconds(base: number, attempts: number): number {
  return Math.min(3600, base * 2 ** Math.max(0, attempts - 1));
}
