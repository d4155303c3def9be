import { describe, expect, it } from "vitest";
import { relay } from "../../../test/support/relay";

type Operation = {
  operationId?: string;
  description?: string;
  security?: unknown;
  "x-openai-isConsequential"?: boolean;
};
type Document = {
  openapi: string;
  servers: Array<{ url: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
};

/** Every `description` anywhere in the document (operations, schemas, properties). */
function descriptions(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(descriptions);
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === "description" && typeof inner === "string" ? [inner] : descriptions(inner),
  );
}

// The rules ChatGPT Actions applies on import (OpenAI, "GPT Actions" docs); the schema itself is validated
// against the OpenAPI 3.1 specification in test/e2e/openapi.test.ts (the validator needs Node's fs).
describe("GET /openapi.json", () => {
  it("describes the five connector routes, as ChatGPT Actions imports them", async () => {
    const response = await relay("/openapi.json", { headers: { "CF-Connecting-IP": "10.9.9.9" } });
    expect(response.status).toBe(200);
    const document = (await response.json()) as Document;

    expect(document.openapi).toBe("3.1.0");
    expect(document.servers).toEqual([{ url: "https://relay.test" }]);
    expect(Object.keys(document.paths).sort()).toEqual([
      "/chatgpt/dispatch",
      "/chatgpt/dispatch/{request_id}",
      "/chatgpt/prs/comment",
      "/chatgpt/prs/label",
      "/chatgpt/prs/list",
    ]);
    const operations = Object.entries(document.paths).map(([path, methods]) => {
      const method = path.endsWith("{request_id}") ? "get" : "post";
      expect(Object.keys(methods)).toEqual([method]);
      return [path, methods[method] as Operation] as const;
    });
    expect(Object.fromEntries(operations.map(([path, op]) => [path, op.operationId]))).toEqual({
      "/chatgpt/dispatch": "dispatchTask",
      "/chatgpt/dispatch/{request_id}": "getDispatchStatus",
      "/chatgpt/prs/list": "listPullRequests",
      "/chatgpt/prs/comment": "commentOnPullRequest",
      "/chatgpt/prs/label": "labelPullRequest",
    });
    expect(Object.fromEntries(operations.map(([path, op]) => [path, op["x-openai-isConsequential"]]))).toEqual({
      "/chatgpt/dispatch": true,
      "/chatgpt/dispatch/{request_id}": false,
      "/chatgpt/prs/list": false,
      "/chatgpt/prs/comment": true,
      "/chatgpt/prs/label": true,
    });
    for (const [, op] of operations) expect(op.security).toEqual([{ bearerAuth: [] }]);
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });

    const all = descriptions(document);
    expect(all.length).toBeGreaterThan(10);
    expect(all.filter((text) => text.length > 300)).toEqual([]);
    expect(JSON.stringify(document).length).toBeLessThan(100_000);
  });

  it("takes its server URL from the deployment it is served by", async () => {
    const response = await relay("/openapi.json", {});
    expect(((await response.json()) as Document).servers).toEqual([{ url: "https://relay.test" }]);
    const other = await fetchFrom("https://kora.example.workers.dev/openapi.json");
    expect(other.servers).toEqual([{ url: "https://kora.example.workers.dev" }]);
  });

  it("describes the request schemas the routes validate with", async () => {
    const document = (await (await relay("/openapi.json")).json()) as {
      paths: Record<
        string,
        { post: { requestBody: { content: Record<string, { schema: Record<string, unknown> }> } } }
      >;
    };
    const label = document.paths["/chatgpt/prs/label"]?.post.requestBody.content["application/json"]?.schema;
    expect(label).toMatchObject({
      type: "object",
      required: ["owner", "repo", "pull_number", "labels"],
      additionalProperties: false,
      properties: { labels: { type: "array", minItems: 1, maxItems: 20, items: { maxLength: 50, minLength: 1 } } },
    });
  });
});

async function fetchFrom(url: string): Promise<Document> {
  const { exports } = await import("cloudflare:workers");
  return (await (await exports.default.fetch(new Request(url))).json()) as Document;
}
