/**
 * A real webhook receiver for Event Grid tests (node:http or https on 127.0.0.1). Each path has a scripted
 * behaviour; every request is recorded. Tests wait with engine.whenIdle(), never with sleeps.
 */
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

/**
 * Returns the status (and optional JSON body) to answer the n-th (0-based) request on a path; status 0 never answers.
 */
export type Behaviour = (request: Received, index: number) => { status: number; body?: unknown };

/** Echoes validation handshakes, then answers notifications via `notifications`. */
export function validating(notifications: (index: number) => number): Behaviour {
  let notificationIndex = 0;
  return (request) => {
    if (request.headers['aeg-event-type'] === 'SubscriptionValidation') {
      const [event] = request.body as [{ data: { validationCode: string } }];
      return { status: 200, body: { validationResponse: event.data.validationCode } };
    }
    return { status: notifications(notificationIndex++) };
  };
}

export interface Receiver {
  readonly url: string;
  readonly received: Received[];
  on(path: string, behaviour: Behaviour): void;
  /** Notifications (not handshakes) received on a path. */
  notifications(path: string): Received[];
  close(): Promise<void>;
}

export async function startReceiver(tls?: { cert: string; key: string }): Promise<Receiver> {
  const behaviours = new Map<string, Behaviour>();
  const counts = new Map<string, number>();
  const received: Received[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      const request: Received = { path, headers: req.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
      received.push(request);
      const index = counts.get(path) ?? 0;
      counts.set(path, index + 1);
      const behaviour: Behaviour = behaviours.get(path) ?? (() => ({ status: 404 }));
      const answer = behaviour(request, index);
      if (answer.status === 0) return; // hang: the sender's timeout is under test
      const body = answer.body === undefined ? '' : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(body);
    });
  };
  const server = tls ? createHttpsServer(tls, handle) : createHttpServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    received,
    on: (path, behaviour) => void behaviours.set(path, behaviour),
    notifications: (path) => received.filter((r) => r.path === path && r.headers['aeg-event-type'] === 'Notification'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
