/**
 * A tools/list POST to /mcp with a bearer token, as an MCP client sends it over Streamable HTTP. Free of Worker
 * imports, so the end-to-end files (Node) use it as well as the workers suite.
 */
export function toolsListInit(token: string): RequestInit {
  return {
    method: "POST",
    headers: {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  };
}
