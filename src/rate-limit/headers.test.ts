import { describe, expect, it } from "vitest";
import { openAIDuration, requestLimitHeaders, tokenLimitHeaders } from "./headers";

// OpenAI writes its x-ratelimit-reset-* as durations (https://platform.openai.com/docs/guides/rate-limits).
describe("rate-limit headers", () => {
  it.each([
    [0, "0ms"],
    [20, "20ms"],
    [999.2, "1s"],
    [6000, "6s"],
    [6_250, "6.25s"],
    [60_500, "1m0.5s"],
    [2_261_405_000, "628h10m5s"],
  ])("writes %d ms as %s", (ms, text) => {
    expect(openAIDuration(ms)).toBe(text);
  });

  it("says one request limit in the IETF draft's form and OpenAI's, and a token budget in OpenAI's", () => {
    expect(requestLimitHeaders("chat", 10, 7, 18_100)).toEqual({
      "RateLimit-Policy": '"chat";q=10;w=60',
      RateLimit: '"chat";r=7;t=19',
      "x-ratelimit-limit-requests": "10",
      "x-ratelimit-remaining-requests": "7",
      "x-ratelimit-reset-requests": "18.1s",
    });
    expect(tokenLimitHeaders(500_000, 1234, 3_600_000)).toEqual({
      "x-ratelimit-limit-tokens": "500000",
      "x-ratelimit-remaining-tokens": "1234",
      "x-ratelimit-reset-tokens": "1h0m0s",
    });
  });
});
