import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, inject, it } from "vitest";

// ChatGPT Actions imports /openapi.json by URL; this checks the document the running relay serves against
// the OpenAPI 3.1 JSON Schema (the validator reads its schemas from disk, so it runs here in Node).
describe("GET /openapi.json under wrangler dev", () => {
  const relay = inject("e2eRelay");

  it("is a valid OpenAPI 3.1 document whose server is this deployment", async () => {
    const response = await fetch(`${relay.url}/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as { servers: Array<{ url: string }> };
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(document.servers).toEqual([{ url: relay.url }]);
  });
});
