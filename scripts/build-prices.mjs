#!/usr/bin/env node
// `npm run generate`: writes src/metering/price-table.json, the relay's model prices, from the maintained data
// package @pydantic/genai-prices (a dev dependency: its 800 KiB of data and code never reach the Worker).
// `node scripts/build-prices.mjs --check` (part of `npm test`) fails when the table is not what the installed
// package gives, so upgrading the package without regenerating the table cannot go unnoticed.
//
// What is kept, per provider: every model name the package matches exactly (`equals`), with its input, cached
// input and output prices in USD per million tokens, and the prompt-size tiers some models have. Loose matches
// (`starts_with`, `contains`, other patterns) are dropped on purpose: the relay prices a model by its exact
// name or as the dated snapshot of one (`gpt-4o-2024-08-06`), never by a prefix. Of prices that changed over
// time the newest is kept; off-peak discounts (time-of-day prices) are left out, so a price never reads low.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { findProvider } from "@pydantic/genai-prices";
import { writeOrCheck } from "./generated-file.mjs";

const root = resolve(import.meta.dirname, "..");
export const PRICE_TABLE = resolve(root, "src/metering/price-table.json");
/** The providers of the relay's documented OpenAI-compatible upstreams (docs/metering.md). */
const PROVIDERS = ["openai", "anthropic", "google", "groq", "mistral", "deepseek", "x-ai"];

const version = JSON.parse(
  readFileSync(resolve(root, "node_modules/@pydantic/genai-prices/package.json"), "utf8"),
).version;

/** Every name a match rule names exactly. */
function exactNames(match) {
  if ("equals" in match) return [match.equals];
  if ("or" in match) return match.or.flatMap(exactNames);
  return [];
}

/** The newest list price of a model: the last dated price, never a time-of-day one. */
function currentPrices(model) {
  if (!Array.isArray(model.prices)) return model.prices;
  const dated = model.prices.filter(({ constraint }) => constraint === undefined || constraint.type === "start_date");
  return dated.at(-1)?.prices;
}

/** A price field at a prompt size (the package's rule: a tier applies above its `start` input tokens). */
function rateAt(value, promptTokens) {
  if (typeof value !== "object" || value === null) return value;
  let rate = value.base;
  for (const tier of value.tiers) if (promptTokens > tier.start) rate = tier.price;
  return rate;
}

/**
 * `[input, cached input, output]` in USD per million tokens, with `[[above, input, cached input, output], …]` as
 * a fourth element for a model whose prices rise above a prompt size; undefined without token prices.
 */
function priceOf(prices) {
  if (prices?.input_mtok === undefined) return undefined;
  const at = (promptTokens) => {
    const input = rateAt(prices.input_mtok, promptTokens);
    return [
      input,
      rateAt(prices.cache_read_mtok, promptTokens) ?? input,
      rateAt(prices.output_mtok, promptTokens) ?? 0,
    ];
  };
  const starts = new Set(
    [prices.input_mtok, prices.cache_read_mtok, prices.output_mtok]
      .filter((value) => typeof value === "object" && value !== null)
      .flatMap((value) => value.tiers.map((tier) => tier.start)),
  );
  const tiers = [...starts].sort((a, b) => a - b).map((start) => [start, ...at(start + 1)]);
  return tiers.length === 0 ? at(0) : [...at(0), tiers];
}

/** The table as the Worker reads it: `{source, providers: {provider: {model: price}}}`, names sorted. */
export function priceTable() {
  const providers = {};
  for (const id of PROVIDERS) {
    const provider = findProvider({ providerId: id });
    if (!provider) throw new Error(`@pydantic/genai-prices ${version} has no provider "${id}"`);
    const models = {};
    for (const model of provider.models) {
      const price = priceOf(currentPrices(model));
      if (!price) continue;
      for (const name of exactNames(model.match)) models[name] ??= price;
    }
    providers[id] = Object.fromEntries(Object.entries(models).sort(([a], [b]) => (a < b ? -1 : 1)));
  }
  return { source: `@pydantic/genai-prices ${version}`, providers };
}

/** One model per line, so that a price change is a one-line diff. */
function format({ source, providers }) {
  const blocks = Object.entries(providers).map(([id, models]) => {
    const lines = Object.entries(models).map(([name, price]) => `   ${JSON.stringify(name)}: ${JSON.stringify(price)}`);
    return `  ${JSON.stringify(id)}: {\n${lines.join(",\n")}\n  }`;
  });
  return `{\n "source": ${JSON.stringify(source)},\n "providers": {\n${blocks.join(",\n")}\n }\n}\n`;
}

writeOrCheck(PRICE_TABLE, format(priceTable()), `@pydantic/genai-prices ${version}`);
