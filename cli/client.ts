import { ApiError, CliError, ExitCode, type Problem } from './errors.js';
import type { Connection } from './connection.js';

export type Query = Readonly<Record<string, string | number | undefined>>;

export interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/**
 * The HTTP API over plain fetch: paths are relative to `/api`, 4xx and 5xx answers become ApiError with the
 * problem details, an unreachable host becomes exit code 3. `trace` (--verbose) gets the method, URL, status and
 * timing, never a header value: they carry the function key and the token.
 */
export class ApiClient {
  constructor(
    private readonly connection: Connection,
    private readonly fetchImpl: typeof fetch = fetch,
    private readonly trace: (line: string) => void = () => undefined,
  ) {}

  async send(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const url = new URL(`${this.connection.baseUrl}/api${path}`);
    for (const [name, value] of Object.entries(options.query ?? {}))
      if (value !== undefined) url.searchParams.set(name, String(value));
    const headers: Record<string, string> = { ...(await this.connection.headers()), ...options.headers };
    if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    this.trace(`→ ${method} ${url.href}`);
    const started = Date.now();
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `Could not reach ${this.connection.baseUrl}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
        ExitCode.unavailable,
      );
    }
    const text = await response.text();
    this.trace(`← ${response.status} ${response.headers.get('content-type') ?? ''} (${Date.now() - started} ms)`);
    if (response.status >= 400) throw new ApiError(response.status, problemOf(text), method, path);
    return { status: response.status, headers: response.headers, text };
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    return parseJson<T>(response.text, `${method} ${path}`);
  }

  /**
   * Every item of a paged list (`{items, continuationToken}`), following the tokens up to `limit` items.
   */
  async all<T>(path: string, query: Query = {}, limit = Number.POSITIVE_INFINITY): Promise<T[]> {
    const items: T[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.json<{ items: T[]; continuationToken?: string }>('GET', path, {
        query: { ...query, continuationToken },
      });
      items.push(...page.items);
      continuationToken = page.continuationToken;
    } while (continuationToken !== undefined && items.length < limit);
    return items.slice(0, limit);
  }
}

export function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliError(`${what} answered something that is not JSON: ${text.slice(0, 200)}`, ExitCode.unavailable);
  }
}

function problemOf(text: string): Problem | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Encodes each segment of a policy scope but keeps its slashes (README § API: `%2F` is refused as a name). */
export function scopePath(scope: string): string {
  return scope
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}
