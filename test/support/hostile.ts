import { inFlightPartition } from '../../lib/storage/conversion-store.js';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { TableClient } from '@azure/data-tables';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { storageResourceNames } from '../../lib/storage/resources.js';

/**
 * Helpers for the hostile-input and security end-to-end tests: raw HTTP (paths exactly as written, so `..` and
 * `%2F` reach the host unnormalized), snapshots of everything the app can write, and loopback-only checks.
 */

/**
 * App settings that keep the hourly and quarter-hourly timers out of a test's way (they write audit runs and
 * outbox rows on their own schedule, which would look like a write caused by the test's input).
 */
export const quietTimers: Record<string, string> = {
  AUDIT_SCHEDULE: '0 0 0 1 1 *',
  CONNECTED_AUDIT_SCHEDULE: '0 0 0 1 1 *',
  CONSUMER_AUDIT_SCHEDULE: '0 0 0 1 1 *',
  REPORT_SCHEDULE: '0 0 0 1 1 *',
};

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

export interface RawRequest {
  readonly method: string;
  /** Sent byte for byte as the request target (no dot-segment resolution, no re-encoding). */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body?: string | Buffer;
}

/** One request over a fresh connection; resolves with whatever the server answered (including 431). */
export async function rawRequest(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const base = new URL(baseUrl);
  const headers = Object.fromEntries(
    Object.entries(request.headers ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const body =
    request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body);
  if (body !== undefined) headers['content-length'] = String(body.length);
  return new Promise<RawResponse>((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: request.method,
        path: request.path,
        headers,
        agent: false,
        insecureHTTPParser: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** Rows of a table as `partitionKey/rowKey` → ETag (an ETag changes with every write of the row). */
export type TableRows = ReadonlyMap<string, string>;

export interface StorageSnapshot {
  readonly tables: ReadonlyMap<string, TableRows>;
  /** Approximate message counts (visible and invisible) of every app queue and its poison twin. */
  readonly queues: ReadonlyMap<string, number>;
}

/** Everything the app of one storage prefix can write: its tables and queues (and the poison twins). */
export class AppStorage {
  readonly tables: ReadonlyMap<string, TableClient>;
  readonly queues: ReadonlyMap<string, QueueClient>;
  readonly names: ReturnType<typeof storageResourceNames>;

  constructor(connectionString: string, prefix: string) {
    this.names = storageResourceNames(prefix);
    this.tables = new Map(
      Object.values(this.names.tables).map((name) => [
        name,
        TableClient.fromConnectionString(connectionString, name, { allowInsecureConnection: true }),
      ]),
    );
    const service = QueueServiceClient.fromConnectionString(connectionString);
    this.queues = new Map(
      Object.values(this.names.queues)
        .flatMap((name) => [name, `${name}-poison`])
        .map((name) => [name, service.getQueueClient(name)]),
    );
  }

  queue(name: string): QueueClient {
    const client = this.queues.get(name);
    if (client === undefined) throw new Error(`${name} is not a queue of this app`);
    return client;
  }

  async snapshot(): Promise<StorageSnapshot> {
    const tables = await Promise.all(
      [...this.tables].map(async ([name, client]) => {
        const rows = new Map<string, string>();
        for await (const entity of client.listEntities()) {
          // The in-flight index is the sweeper's (timer) bookkeeping, written beside a row write or by the first
          // sweep; a request's write shows in the rows themselves.
          if (entity.partitionKey === inFlightPartition) continue;
          rows.set(`${entity.partitionKey ?? ''}/${entity.rowKey ?? ''}`, entity.etag);
        }
        return [name, rows] as const;
      }),
    );
    const queues = await Promise.all(
      [...this.queues].map(
        async ([name, client]) => [name, (await client.getProperties()).approximateMessagesCount ?? 0] as const,
      ),
    );
    return { tables: new Map(tables), queues: new Map(queues) };
  }

  /** Waits until two snapshots in a row, `quietMs` apart, are equal and every queue is empty (start-up work done). */
  async settle(quietMs = 1_000, timeoutMs = 30_000): Promise<StorageSnapshot> {
    const deadline = Date.now() + timeoutMs;
    let previous = await this.snapshot();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, quietMs));
      const current = await this.snapshot();
      if (changes(previous, current).length === 0 && [...current.queues.values()].every((count) => count === 0))
        return current;
      if (Date.now() > deadline) throw new Error(`storage never settled: ${changes(previous, current).join('; ')}`);
      previous = current;
    }
  }
}

/** What differs between two snapshots, in words (empty when nothing was written). */
export function changes(before: StorageSnapshot, after: StorageSnapshot, options: { queues?: boolean } = {}): string[] {
  const found: string[] = [];
  for (const [table, rows] of after.tables) {
    const earlier = before.tables.get(table) ?? new Map<string, string>();
    for (const [key, etag] of rows) {
      if (!earlier.has(key)) found.push(`${table}: added ${key}`);
      else if (earlier.get(key) !== etag) found.push(`${table}: changed ${key}`);
    }
    for (const key of earlier.keys()) if (!rows.has(key)) found.push(`${table}: removed ${key}`);
  }
  if (options.queues ?? true) {
    for (const [queue, count] of after.queues)
      if (count !== (before.queues.get(queue) ?? 0))
        found.push(`${queue}: ${before.queues.get(queue) ?? 0} → ${count} message(s)`);
  }
  return found;
}

/** Polls until `done` holds, or fails with `describe()` once `timeoutMs` is over. */
export async function waitUntil(
  done: () => Promise<boolean> | boolean,
  describe: () => string,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** This machine's addresses that are not loopback (IPv4 and IPv6 without a zone), empty on a loopback-only box. */
export function nonLoopbackAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .filter(
      (entry) => !entry.internal && !(entry.family === 'IPv6' && entry.scopeid !== undefined && entry.scopeid !== 0),
    )
    .map((entry) => entry.address);
}

/** Outcome of a TCP connection attempt: `connected`, `refused` (nothing listens there), or another error code. */
export type ConnectOutcome = string;

/** Tries a TCP connection to `host:port`. */
export async function tryConnect(host: string, port: number, timeoutMs = 2_000): Promise<ConnectOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code === 'ECONNREFUSED' ? 'refused' : (error.code ?? error.message));
    });
  });
}

/** A valid-looking sha256 digest that no registry holds. */
export function fakeDigest(seed: number): string {
  return `sha256:${seed.toString(16).padStart(8, '0').repeat(8)}`;
}
