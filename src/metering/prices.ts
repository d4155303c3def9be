import * as z from "zod";
import table from "./price-table.json";

/** USD per million tokens: the same number is micro-dollars per token. */
export type Rates = { input: number; cachedInput: number; output: number };

/** A model's price: its rates, and the higher rates some models charge for prompts above a size. */
export type Price = Rates & { tiers: ReadonlyArray<Rates & { above: number }> };

/**
 * The prices the relay knows, by exact model name. A Map, so that a caller's model name is only ever a key:
 * `"toString"` or `"__proto__"` finds nothing, never a property of Object.prototype.
 */
export type PriceBook = ReadonlyMap<string, Price>;

/** A model in price-table.json: input, cached input, output, and its tiers as `[above, input, cached, output]`. */
type TableEntry = [number, number, number, Array<[number, number, number, number]>?];

function bookOf(models: Record<string, TableEntry>): PriceBook {
  return new Map(
    Object.entries(models).map(([name, [input, cachedInput, output, tiers = []]]) => [
      name,
      {
        input,
        cachedInput,
        output,
        tiers: tiers.map(([above, tierInput, tierCached, tierOutput]) => ({
          above,
          input: tierInput,
          cachedInput: tierCached,
          output: tierOutput,
        })),
      },
    ]),
  );
}

/**
 * The built-in price tables of the maintained data package, by provider (`openai`, `anthropic`, `google`,
 * `groq`, `mistral`, `deepseek`, `x-ai`): what a PROVIDERS entry names as its `price_table`.
 */
export const PRICE_TABLES: ReadonlyMap<string, PriceBook> = new Map(
  Object.entries(table.providers).map(([id, models]) => [id, bookOf(models as unknown as Record<string, TableEntry>)]),
);

/** The built-in prices of the default upstream, OpenAI, from the maintained data package. */
export const PACKAGE_PRICES: PriceBook = PRICE_TABLES.get("openai") ?? new Map();

/**
 * The prices the relay meters with: MODEL_PRICES (`own`) laid over one built-in table, per provider. `book(null)`
 * is MODEL_PRICES alone (a provider without a table).
 */
export type Prices = { own: PriceBook; book(table: string | null): PriceBook };

function pricesOver(own: PriceBook): Prices {
  const books = new Map<string | null, PriceBook>();
  return {
    own,
    book(name) {
      let book = books.get(name);
      if (!book) {
        book = new Map([...((name === null ? undefined : PRICE_TABLES.get(name)) ?? []), ...own]);
        books.set(name, book);
      }
      return book;
    },
  };
}

const usdPerMillion = z.number().finite().min(0).max(1_000_000);
const ownPrice = z.strictObject({
  input: usdPerMillion,
  output: usdPerMillion,
  cached_input: usdPerMillion.optional(),
});

/**
 * MODEL_PRICES: a JSON object of model → `{input, output, cached_input?}` (USD per million tokens; cached input
 * costs what input costs unless given), laid over the built-in prices of every provider.
 */
export const modelPrices = z.preprocess(
  (value) => {
    if (typeof value !== "string" || value.trim() === "") return {};
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  },
  z.record(z.string().min(1).max(256), ownPrice).transform((own): Prices => {
    const book = new Map<string, Price>();
    for (const [name, price] of Object.entries(own)) {
      book.set(name, {
        input: price.input,
        cachedInput: price.cached_input ?? price.input,
        output: price.output,
        tiers: [],
      });
    }
    return pricesOver(book);
  }),
);

/** A dated snapshot of a model: `gpt-4o-2024-08-06` is a snapshot of `gpt-4o`. */
const SNAPSHOT = /^(.+)-\d{4}-\d{2}-\d{2}$/;

/** The price of a model: its own entry, else (a dated snapshot) its model's; undefined when it has none. */
export function priceOf(book: PriceBook, model: string): Price | undefined {
  const own = book.get(model);
  if (own) return own;
  const base = SNAPSHOT.exec(model)?.[1];
  return base === undefined ? undefined : book.get(base);
}

/** The rates that apply to a prompt of `promptTokens`: a tier's once the prompt is larger than its `above`. */
export function ratesAt(price: Price, promptTokens: number): Rates {
  let current: Rates = price;
  for (const tier of price.tiers) if (promptTokens > tier.above) current = tier;
  return current;
}

/** Token counts of one answer, as the upstream reports them (cached tokens are part of the prompt's). */
export type TokenCounts = { promptTokens: number; cachedTokens: number; completionTokens: number };

/**
 * Integer micro-dollars of an answer, rounded up: cached prompt tokens at the cached rate, the rest of the
 * prompt at the input rate, completion tokens (reasoning included) at the output rate.
 */
export function costMicros(price: Price, counts: TokenCounts): number {
  const rate = ratesAt(price, counts.promptTokens);
  const cached = Math.min(counts.cachedTokens, counts.promptTokens);
  return Math.ceil(
    (counts.promptTokens - cached) * rate.input + cached * rate.cachedInput + counts.completionTokens * rate.output,
  );
}

/** A chat request's parts that count as input, for the estimate. */
export type PromptParts = { messages: unknown[]; [field: string]: unknown };

/** What an image (or a file, whose pages may be images) may cost as input at most: a high-detail image at OpenAI's largest size. */
export const IMAGE_TOKENS = 2_000;

/** Parts whose tokens are not their JSON's bytes: images by URL or inline, files by id or URL. */
const IMAGE_PART = /"type":"(?:image_url|input_image|input_file)"/g;

/**
 * An upper bound of the input tokens of a request's parts: a token is at least one byte, so the UTF-8 size of
 * the parts as JSON (which adds quotes and keys) bounds their text; images and files are counted at
 * IMAGE_TOKENS each besides.
 */
export function inputEstimate(parts: Record<string, unknown>): number {
  const json = JSON.stringify(parts);
  const images = (json.match(IMAGE_PART) ?? []).length;
  return new TextEncoder().encode(json).length + images * IMAGE_TOKENS;
}

/** An upper bound of a chat request's prompt tokens: its messages, tools and formats (inputEstimate). */
export function promptEstimate(request: PromptParts): number {
  return inputEstimate({
    messages: request.messages,
    tools: request.tools,
    functions: request.functions,
    response_format: request.response_format,
    prediction: request.prediction,
  });
}
