import { describe, expect, it } from "vitest";
import { verifyGitHubSignature } from "./signature";

const bytes = (text: string) => Uint8Array.from(new TextEncoder().encode(text));

// GitHub docs, "Validating webhook deliveries", "Testing the webhook payload validation": this secret and
// payload must give this signature.
const SECRET = "It's a Secret to Everybody";
const PAYLOAD = "Hello, World!";
const SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

describe("X-Hub-Signature-256", () => {
  it("accepts GitHub's documented test vector, in either case of hex", async () => {
    expect(await verifyGitHubSignature(bytes(PAYLOAD), SIGNATURE, SECRET)).toEqual({ ok: true });
    expect(
      await verifyGitHubSignature(bytes(PAYLOAD), SIGNATURE.toUpperCase().replace("SHA256", "sha256"), SECRET),
    ).toEqual({
      ok: true,
    });
  });

  it.each([
    ["another body", bytes("Hello, World?"), SIGNATURE, "X-Hub-Signature-256 does not match the body"],
    ["no header", bytes(PAYLOAD), undefined, "X-Hub-Signature-256 is missing"],
    [
      "a sha1 header",
      bytes(PAYLOAD),
      `sha1=${"0".repeat(40)}`,
      "X-Hub-Signature-256 must be sha256= and 64 hex digits",
    ],
    ["a short digest", bytes(PAYLOAD), SIGNATURE.slice(0, -2), "X-Hub-Signature-256 must be sha256= and 64 hex digits"],
    [
      "two signatures",
      bytes(PAYLOAD),
      `${SIGNATURE},${SIGNATURE}`,
      "X-Hub-Signature-256 must be sha256= and 64 hex digits",
    ],
  ])("refuses %s", async (_, body, header, reason) => {
    expect(await verifyGitHubSignature(body, header, SECRET)).toEqual({ ok: false, reason });
  });

  it("compares the raw bytes: invalid UTF-8 that decodes to the signed text is refused", async () => {
    const signed = new Uint8Array([0x7b, 0xef, 0xbf, 0xbd, 0x7d]); // "{\uFFFD}" as UTF-8
    const raw = new Uint8Array([0x7b, 0xff, 0x7d]); // decodes to the same text
    const header = `sha256=${Array.from(
      new Uint8Array(
        await crypto.subtle.sign(
          "HMAC",
          await crypto.subtle.importKey("raw", bytes(SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]),
          signed,
        ),
      ),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("")}`;
    expect(await verifyGitHubSignature(signed, header, SECRET)).toEqual({ ok: true });
    expect((await verifyGitHubSignature(raw, header, SECRET)).ok).toBe(false);
  });
});
