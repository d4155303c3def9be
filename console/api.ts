/** The admin API, called from the page with the operator's ADMIN_TOKEN: the console's only source of data. */

/** A refusal or failure, as the relay's error shape names it; status 0 when the relay could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | undefined>;
type SendOptions = { json?: unknown; body?: Blob; headers?: Record<string, string> };

/** Calls the relay's admin routes on this origin with `Authorization: Bearer`; there is no cookie to steal or ride. */
export class AdminApi {
  constructor(
    private readonly token: string,
    /** Called when the relay refuses the token (401): the console signs out. */
    private readonly refused: () => void = () => undefined,
  ) {}

  get<T>(path: string, query: Query = {}): Promise<T> {
    return this.send<T>("GET", withQuery(path, query));
  }

  post<T>(path: string, json?: unknown, headers: Record<string, string> = {}): Promise<T> {
    return this.send<T>("POST", path, { json, headers });
  }

  put<T>(path: string, body: Blob, headers: Record<string, string>): Promise<T> {
    return this.send<T>("PUT", path, { body, headers });
  }

  private async send<T>(method: string, path: string, options: SendOptions = {}): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, ...options.headers };
    let body: BodyInit | undefined = options.body;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.json);
    }
    let response: Response;
    try {
      response = await fetch(path, { method, headers, body, cache: "no-store", credentials: "omit" });
    } catch {
      throw new ApiError(0, "network", "The relay could not be reached.");
    }
    const answer = (await response.json().catch(() => null)) as
      | (T & { success?: boolean; error?: { code?: string; message?: string } })
      | null;
    if (response.ok && answer !== null) return answer;
    if (response.status === 401) this.refused();
    const error = answer?.error;
    let message = error?.message ?? `The relay answered ${response.status}.`;
    const retryAfter = response.headers.get("Retry-After");
    if (response.status === 429 && retryAfter) message = `${message} Try again in ${retryAfter} s.`;
    throw new ApiError(response.status, error?.code ?? "unknown", message);
  }
}

function withQuery(path: string, query: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== "") params.set(name, String(value));
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

/** The message to show for anything a call threw. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : "Something went wrong.";
}

/**
 * An Idempotency-Key for one form: kept while the same request may be retried (a network error, a 5xx),
 * dropped once the relay has decided or the form changes, so a double submit is applied once and a new
 * request is never mistaken for an old one (the relay answers 422 to a key reused with another body).
 */
export class IdempotencyKey {
  private key: string | null = null;

  current(): string {
    this.key ??= crypto.randomUUID();
    return this.key;
  }

  /** After an answer: keep the key only when the relay may not have applied the request. */
  settle(error?: unknown): void {
    if (!(error instanceof ApiError && (error.status === 0 || error.status >= 500))) this.key = null;
  }

  reset(): void {
    this.key = null;
  }
}

/** Shapes of the admin API's answers: the server builds them from the same types (docs/api.md). */
export type {
  AuditCount,
  AuditRow,
  EntitlementsCheck,
  GrantView,
  HistoryEvent,
  LibraryItem,
  ListedKey,
  PaymentCount,
  UsageRow,
} from "../src/admin-api";
