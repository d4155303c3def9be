import ipaddr from "ipaddr.js";

/** One allowlist entry: an address and how many leading bits must match (32/128 for a single address). */
export type IpRange = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Parses TRIGGER_IP_ALLOWLIST entries: IPv4 or IPv6 addresses and CIDR ranges (`203.0.113.7`,
 * `10.0.0.0/8`, `2001:db8::/32`). Returns undefined when an entry is not one of those, so a typo
 * cannot silently open or close the trigger. IPv4 must be dotted quad: `10.1` is refused, not guessed.
 */
export function parseIpAllowlist(entries: readonly string[]): IpRange[] | undefined {
  const ranges: IpRange[] = [];
  for (const entry of entries) {
    const [address = "", bits, ...rest] = entry.split("/");
    if (rest.length > 0) return undefined;
    const v4 = ipaddr.IPv4.isValidFourPartDecimal(address);
    if (!v4 && !ipaddr.IPv6.isValid(address)) return undefined;
    const max = v4 ? 32 : 128;
    if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return undefined;
    const prefix = bits === undefined ? max : Number(bits);
    if (prefix > max) return undefined;
    if (bits !== undefined) {
      ranges.push([ipaddr.parse(address), prefix]);
      continue;
    }
    // A single IPv4-mapped IPv6 address (::ffff:192.0.2.1) stands for the IPv4 address it carries.
    const single = ipaddr.process(address);
    ranges.push([single, single.kind() === "ipv4" ? 32 : 128]);
  }
  return ranges;
}

/** Whether `ip` (as in CF-Connecting-IP) lies in one of the ranges; an unparsable IP never does. */
export function ipAllowed(ranges: readonly IpRange[], ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  const address = ipaddr.process(ip);
  return ranges.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits));
}
