import { CHATGPT_BEARER_TOKEN } from "../secrets";
import { githubScenario, relay, uniqueIp } from "./relay";

type PostOptions = {
  token?: string | null;
  behaviour?: string;
  vars?: Record<string, string | undefined>;
  ip?: string;
};

/** POSTs JSON to a connector route with its own GitHub stand-in scenario; returns both. */
export async function postConnector(path: string, body: unknown, options: PostOptions = {}) {
  const scenario = githubScenario(options.behaviour ?? "ok");
  const token = options.token === undefined ? CHATGPT_BEARER_TOKEN : options.token;
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "CF-Connecting-IP": options.ip ?? uniqueIp(),
    ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
  };
  const response = await relay(
    path,
    { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) },
    { GITHUB_API_URL: scenario.apiUrl, GITHUB_TIMEOUT_MS: "300", ...options.vars },
  );
  return { response, json: (await response.json()) as Record<string, unknown>, received: () => scenario.received() };
}
