import { describe, expect, it } from "vitest";
import { ipAllowed, parseIpAllowlist } from "./ip-allowlist";

const allowed = (entries: string[], ip: string) => ipAllowed(parseIpAllowlist(entries) ?? [], ip);

describe("TRIGGER_IP_ALLOWLIST matching", () => {
  it.each([
    [["203.0.113.7"], "203.0.113.7", true],
    [["203.0.113.7"], "203.0.113.8", false],
    [["10.0.0.0/8"], "10.200.3.4", true],
    [["10.0.0.0/8"], "11.0.0.1", false],
    [["192.168.1.0/24", "2001:db8::/32"], "2001:db8:1::5", true],
    [["2001:db8::/32"], "2001:db9::1", false],
    [["2001:db8::1"], "2001:0db8:0000::0001", true],
    [["203.0.113.7"], "::ffff:203.0.113.7", true],
    [["2001:db8::/32"], "203.0.113.7", false],
    [["0.0.0.0/0"], "198.51.100.1", true],
    [["10.0.0.0/8"], "unknown", false],
  ])("%j allows %s: %s", (entries, ip, expected) => {
    expect(allowed(entries, ip)).toBe(expected);
  });

  it.each([["10.1"], ["10.0.0.0/33"], ["2001:db8::/129"], ["10.0.0.0/x"], ["example.com"], ["10.0.0.0/8/1"]])(
    "refuses the malformed entry %s",
    (entry) => {
      expect(parseIpAllowlist(["10.0.0.1", entry])).toBeUndefined();
    },
  );
});
