import { z } from 'zod';
import type { EmulatorRequest, EmulatorResponse, RouteHandler } from '../contract.js';
import { renderCardsPage } from './cards-page.js';
import { behaviourSchema, channelKinds, channelNameSchema, type InboxChannel, type InboxStore } from './store.js';

/**
 * The inbox's routes on the control listener (plain HTTP, loopback):
 *
 *   GET    /inbox[?channel=&kind=webhook|teams&outcome=delivered|duplicate|rejected|scripted]
 *                                                 deliveries, newest first
 *   DELETE /inbox                                 forget deliveries and webhook-id dedupe memory → 204
 *   GET    /inbox/cards                           HTML: Teams cards as Teams draws them, webhook bodies as JSON
 *   GET    /inbox/channels                        channels (name, kind, url; never the secret)
 *   PUT    /inbox/channels/{channel}              {kind, secret?} → 200 with the channel and its secret
 *   GET    /inbox/channels/{channel}/behaviour    the scripted behaviour
 *   PUT    /inbox/channels/{channel}/behaviour    {mode:'normal'} | {mode:'down'} |
 *                                                 {mode:'status', status, count?, retryAfterSeconds?}
 */

const TITLES: Readonly<Record<number, string>> = { 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed' };

function problem(status: number, detail: string): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'application/problem+json' },
    body: { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail },
  };
}

const filterSchema = z.object({
  channel: z.string().optional(),
  kind: z.enum(channelKinds).optional(),
  outcome: z.enum(['delivered', 'duplicate', 'rejected', 'scripted']).optional(),
});

const channelSpecSchema = z.object({
  kind: z.enum(channelKinds),
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/)
    .optional(),
});

const zodDetail = (error: z.ZodError): string =>
  error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');

function jsonBody(request: EmulatorRequest): { ok: true; value: unknown } | { ok: false; response: EmulatorResponse } {
  try {
    return { ok: true, value: JSON.parse(request.body.toString('utf8') || '{}') as unknown };
  } catch {
    return { ok: false, response: problem(400, 'the request body is not valid JSON') };
  }
}

const publicView = (channel: InboxChannel): object => ({ name: channel.name, kind: channel.kind, url: channel.url });

function methodNotAllowed(allow: string): EmulatorResponse {
  return { ...problem(405, `allowed: ${allow}`), headers: { 'content-type': 'application/problem+json', allow } };
}

export function createInboxControlHandler(store: InboxStore): RouteHandler {
  const route = (request: EmulatorRequest): EmulatorResponse | undefined => {
    if (request.path !== '/inbox' && !request.path.startsWith('/inbox/')) return undefined;
    const segments = request.path.split('/').filter(Boolean).slice(1);
    const method = request.method;

    if (segments.length === 0) {
      if (method === 'GET') {
        const parsed = filterSchema.safeParse(Object.fromEntries(request.query));
        if (!parsed.success) return problem(400, zodDetail(parsed.error));
        return { status: 200, body: store.deliveries(parsed.data) };
      }
      if (method === 'DELETE') {
        store.clear();
        return { status: 204 };
      }
      return methodNotAllowed('GET, DELETE');
    }

    const [resource, name, sub, ...rest] = segments;
    if (resource === 'cards' && name === undefined) {
      if (method !== 'GET') return methodNotAllowed('GET');
      return {
        status: 200,
        // The page must stay inert even if a card smuggles markup past the escaping: no scripts, no fetches.
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
          'cache-control': 'no-store',
        },
        body: renderCardsPage(store.deliveries()),
      };
    }
    if (resource !== 'channels' || rest.length > 0) return problem(404, `no inbox route ${method} ${request.path}`);
    if (name === undefined)
      return method === 'GET' ? { status: 200, body: store.channels.map(publicView) } : methodNotAllowed('GET');

    const validName = channelNameSchema.safeParse(name);
    if (!validName.success) return problem(400, `channel name: ${zodDetail(validName.error)}`);
    if (sub === undefined) {
      if (method !== 'PUT') return methodNotAllowed('PUT');
      const body = jsonBody(request);
      if (!body.ok) return body.response;
      const spec = channelSpecSchema.safeParse(body.value);
      if (!spec.success) return problem(400, zodDetail(spec.error));
      const channel = store.addChannel({
        name,
        kind: spec.data.kind,
        ...(spec.data.secret === undefined ? {} : { secret: spec.data.secret }),
      });
      return { status: 200, body: channel };
    }
    if (sub !== 'behaviour') return problem(404, `no inbox route ${method} ${request.path}`);
    if (store.channel(name) === undefined) return problem(404, `no channel ${name} in the sandbox inbox`);
    if (method === 'GET') return { status: 200, body: store.behaviour(name) };
    if (method !== 'PUT') return methodNotAllowed('GET, PUT');
    const body = jsonBody(request);
    if (!body.ok) return body.response;
    const behaviour = behaviourSchema.safeParse(body.value);
    if (!behaviour.success) return problem(400, zodDetail(behaviour.error));
    return { status: 200, body: store.setBehaviour(name, behaviour.data) };
  };
  return (request) => Promise.resolve(route(request));
}
