import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { seededRandom } from '../../dev/emulator/eventgrid/random.js';

/**
 * A loopback HTTP proxy in front of one Azurite service (Table, or Queue) that injects faults on a seeded schedule,
 * so chaos tests can point the app at it through `AzureWebJobsStorage` (`TableEndpoint=` / `QueueEndpoint=`
 * rewritten to the proxy) and prove the product converges when storage misbehaves.
 *
 * Faults, decided per request from a seeded PRNG in arrival order (the schedule is a function of the seed and the
 * request's index, so a failing run can be replayed by its seed):
 * - `error`: answers 500 or 503 with a Storage error body **without forwarding**: nothing was written;
 * - `lost-response` (writes only: POST/PUT/PATCH/MERGE/DELETE): forwards the request, lets Azurite apply it, then
 *   throws its answer away and answers 500/503 or resets the socket — the hard case, where the client retries
 *   (the Azure SDKs do) a write that already happened and sees 409/412/404 instead of success;
 * - `latency`: waits, then forwards;
 * - `drop`: resets the socket without forwarding.
 *
 * Bounded: at most `budget` faults in total and never more than `maxConsecutive` faulted requests in a row, so
 * the SDKs' own retries (3 by default) cannot all be used up by the proxy alone, and `enabled` switches the
 * schedule off (e.g. while provisioning, or for a fault-free baseline). When the upstream is unreachable (Azurite
 * restarting) the client socket is reset, as a real network would do.
 */
export interface FaultRates {
  /** Share of requests answered 500/503 without being forwarded. */
  readonly error?: number;
  /** Share of write requests forwarded, applied, and then answered with an error or a reset. */
  readonly lostResponse?: number;
  /** Share of requests delayed by `latencyMs` (a uniform draw in [min, max]) before forwarding. */
  readonly latency?: number;
  /** Share of requests whose connection is reset without forwarding. */
  readonly drop?: number;
}

export interface FaultProxyOptions {
  /** Upstream (Azurite) `host:port`. */
  readonly target: { readonly host: string; readonly port: number };
  readonly seed: number;
  readonly rates?: FaultRates;
  readonly latencyMs?: { readonly min: number; readonly max: number };
  /** Total faults the proxy may inject; unlimited when absent. */
  readonly budget?: number;
  /** Longest run of consecutive faulted requests. Default 2. */
  readonly maxConsecutive?: number;
  /** Port to listen on (loopback); 0 (default) lets the OS pick. */
  readonly port?: number;
  /** Whether faults are injected from the start. Default true. */
  readonly enabled?: boolean;
}

export type FaultKind = 'error' | 'lost-response' | 'latency' | 'drop';

export interface FaultProxyStats {
  requests: number;
  forwarded: number;
  error: number;
  'lost-response': number;
  latency: number;
  drop: number;
  /** Requests that could not reach the upstream (it was down); answered with a reset. */
  upstreamDown: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly stats: Readonly<FaultProxyStats>;
  enabled: boolean;
  close(): Promise<void>;
}

const writeMethods = new Set(['POST', 'PUT', 'PATCH', 'MERGE', 'DELETE']);

// The emulator's mulberry32: the same seed spreads faults the same way on every run.
export { seededRandom };

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const random = seededRandom(options.seed);
  const rates = { error: 0, lostResponse: 0, latency: 0, drop: 0, ...options.rates };
  const latency = options.latencyMs ?? { min: 200, max: 1_500 };
  const maxConsecutive = options.maxConsecutive ?? 2;
  const stats: FaultProxyStats = {
    requests: 0,
    forwarded: 0,
    error: 0,
    'lost-response': 0,
    latency: 0,
    drop: 0,
    upstreamDown: 0,
  };
  let budget = options.budget ?? Number.POSITIVE_INFINITY;
  let consecutive = 0;
  const sockets = new Set<Socket>();

  /** Draws every number of the request's decision up front, so the schedule depends only on the request index. */
  const decide = (
    method: string,
  ): { kind: FaultKind | undefined; status: 500 | 503; reset: boolean; delayMs: number } => {
    const draw = random();
    const status = random() < 0.5 ? 500 : 503;
    const reset = random() < 0.5;
    const delayMs = Math.round(latency.min + random() * (latency.max - latency.min));
    let kind: FaultKind | undefined;
    if (proxy.enabled && budget > 0 && consecutive < maxConsecutive) {
      let edge = rates.error;
      if (draw < edge) kind = 'error';
      else if (draw < (edge += writeMethods.has(method) ? rates.lostResponse : 0)) kind = 'lost-response';
      else if (draw < (edge += rates.latency)) kind = 'latency';
      else if (draw < (edge += rates.drop)) kind = 'drop';
    }
    // Latency is not a failure: it does not count towards a run of consecutive faults.
    if (kind === undefined || kind === 'latency') consecutive = 0;
    else consecutive++;
    if (kind !== undefined) {
      budget--;
      stats[kind]++;
    }
    return { kind, status, reset, delayMs };
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch(() => req.socket.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests++;
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    const decision = decide(method);
    if (decision.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (decision.kind === 'error') {
      storageError(res, decision.status, req);
      return;
    }
    if (decision.kind === 'latency') await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
    const upstream = await forward(req, body).catch(() => undefined);
    if (upstream === undefined) {
      stats.upstreamDown++;
      req.socket.destroy();
      return;
    }
    stats.forwarded++;
    if (decision.kind === 'lost-response') {
      if (decision.reset) req.socket.destroy();
      else storageError(res, decision.status, req);
      return;
    }
    res.writeHead(upstream.status, upstream.headers);
    res.end(upstream.body);
  }

  function forward(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: `${options.target.host}:${options.target.port}` };
      const outgoing = httpRequest(
        { host: options.target.host, port: options.target.port, method: req.method, path: req.url, headers },
        (response) => {
          readBody(response).then((data) => {
            const copied: Record<string, string | string[]> = {};
            for (const [name, value] of Object.entries(response.headers))
              if (value !== undefined && name !== 'connection' && name !== 'keep-alive' && name !== 'transfer-encoding')
                copied[name] = value;
            copied['content-length'] = String(data.length);
            resolve({ status: response.statusCode ?? 502, headers: copied, body: data });
          }, reject);
        },
      );
      outgoing.setTimeout(30_000, () => outgoing.destroy(new Error('upstream timed out')));
      outgoing.once('error', reject);
      outgoing.end(body);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const proxy: FaultProxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    enabled: options.enabled ?? true,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/** An error as the Table service (JSON, `odata.error`) or the Queue service (XML) words it. */
function storageError(res: ServerResponse, status: 500 | 503, req: IncomingMessage): void {
  const code = status === 503 ? 'ServerBusy' : 'InternalError';
  const message = `injected by the chaos fault proxy (${req.method ?? ''} ${req.url ?? ''})`;
  const json = (req.headers.accept ?? '').includes('json') || (req.headers['content-type'] ?? '').includes('json');
  const body = json
    ? JSON.stringify({ 'odata.error': { code, message: { lang: 'en-US', value: message } } })
    : `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, {
    'content-type': json ? 'application/json;odata=minimalmetadata' : 'application/xml',
    'x-ms-error-code': code,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

/**
 * A storage connection string whose Table (and optionally Queue) endpoint goes through proxies; the rest of the
 * string (account, key, blob endpoint) is kept, so SharedKey signatures still verify (they do not cover the host).
 */
export function proxiedConnectionString(
  connectionString: string,
  endpoints: { readonly table?: string; readonly queue?: string },
): string {
  const account = /AccountName=([^;]+)/.exec(connectionString)?.[1] ?? 'devstoreaccount1';
  let result = connectionString;
  if (endpoints.table !== undefined)
    result = result.replace(/TableEndpoint=[^;]+/, `TableEndpoint=${endpoints.table}/${account}`);
  if (endpoints.queue !== undefined)
    result = result.replace(/QueueEndpoint=[^;]+/, `QueueEndpoint=${endpoints.queue}/${account}`);
  return result;
}
