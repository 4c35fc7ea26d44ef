/**
 * Control API for the Event Grid emulation, mounted by the core on the control listener under
 * `/_emulator/eventgrid`. Errors are application/problem+json like the core's control API, plus a `code` member.
 *
 *   GET    /_emulator/eventgrid/subscriptions                 list
 *   POST   /_emulator/eventgrid/subscriptions                 create (body: SubscriptionSpecInput) → 201 | 400
 *   PUT    /_emulator/eventgrid/subscriptions/{name}          create/replace (name from the path)
 *   GET    /_emulator/eventgrid/subscriptions/{name}          one
 *   DELETE /_emulator/eventgrid/subscriptions/{name}          204 | 404
 *   GET    /_emulator/eventgrid/subscriptions/{name}/validate?id=CODE   manual validation (the validationUrl)
 *   GET    /_emulator/eventgrid/deliveries[?subscription=]    delivery log
 *   GET    /_emulator/eventgrid/dead-letters                  dead-letter records (with file paths)
 *   GET    /_emulator/eventgrid/events                        every event published so far
 *   GET|PUT /_emulator/eventgrid/at-least-once                {enabled, duplicateProbability?, reorder?, seed?}
 *   POST   /_emulator/eventgrid/publish                       inject a ManifestEvent (tests) → 202
 *   POST   /_emulator/eventgrid/idle[?timeoutMs=]             waits for whenIdle() → 204 | 504
 */
import { z } from 'zod';
import type { EmulatorRequest, EmulatorResponse, RouteHandler } from '../contract.js';
import type { EventGridEngine } from './types.js';

export const EVENTGRID_CONTROL_BASE = '/_emulator/eventgrid';

const manifestEventSchema = z.object({
  action: z.enum(['push', 'delete']),
  registry: z.string().min(1),
  repository: z.string().min(1),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  mediaType: z.string().min(1),
  size: z.number().int().nonnegative().optional(),
  tag: z.string().optional(),
  userAgent: z.string().optional(),
  method: z.enum(['PUT', 'DELETE']),
});

const atLeastOnceSchema = z.object({
  enabled: z.boolean(),
  duplicateProbability: z.number().min(0).max(1).optional(),
  reorder: z.boolean().optional(),
  seed: z.number().int().optional(),
});

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  504: 'Gateway Timeout',
};

const error = (status: number, code: string, detail: string, extra?: object): EmulatorResponse => ({
  status,
  headers: { 'content-type': 'application/problem+json' },
  body: { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail, code, ...extra },
});

function parseJson(request: EmulatorRequest): { ok: true; value: unknown } | { ok: false; response: EmulatorResponse } {
  try {
    return { ok: true, value: JSON.parse(request.body.toString('utf8') || '{}') as unknown };
  } catch {
    return { ok: false, response: error(400, 'InvalidJson', 'The request body is not valid JSON.') };
  }
}

const zodMessage = (e: z.ZodError): string =>
  e.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');

export function createEventGridControlHandler(
  engine: EventGridEngine,
  basePath = EVENTGRID_CONTROL_BASE,
): RouteHandler {
  const createOrReplace = async (body: unknown): Promise<EmulatorResponse> => {
    try {
      const view = await engine.createSubscription(body as never);
      return view.provisioningState === 'Succeeded'
        ? { status: 201, body: view }
        : error(400, 'WebhookValidationFailed', view.validationError ?? 'Validation failed.', { subscription: view });
    } catch (e) {
      if (e instanceof z.ZodError) return error(400, 'InvalidSubscription', zodMessage(e));
      throw e;
    }
  };

  return async (request) => {
    if (request.path !== basePath && !request.path.startsWith(`${basePath}/`)) return undefined;
    const segments = request.path.slice(basePath.length).split('/').filter(Boolean);
    const [resource, name, action] = segments;
    const method = request.method;

    if (resource === 'subscriptions') {
      if (name === undefined) {
        if (method === 'GET') return { status: 200, body: { value: engine.listSubscriptions() } };
        if (method === 'POST') {
          const parsed = parseJson(request);
          return parsed.ok ? createOrReplace(parsed.value) : parsed.response;
        }
      } else if (action === undefined) {
        if (method === 'GET') {
          const view = engine.getSubscription(name);
          return view ? { status: 200, body: view } : error(404, 'NotFound', `Subscription '${name}' does not exist.`);
        }
        if (method === 'PUT') {
          const parsed = parseJson(request);
          if (!parsed.ok) return parsed.response;
          return createOrReplace({ ...(parsed.value as object), name });
        }
        if (method === 'DELETE') {
          return engine.deleteSubscription(name)
            ? { status: 204 }
            : error(404, 'NotFound', `Subscription '${name}' does not exist.`);
        }
      } else if (action === 'validate' && method === 'GET') {
        return engine.validateManually(name, request.query.get('id') ?? '')
          ? {
              status: 200,
              headers: { 'content-type': 'text/plain; charset=utf-8' },
              body: 'Webhook successfully validated as a subscription endpoint.',
            }
          : error(400, 'ValidationFailed', 'Unknown subscription, wrong code, or not awaiting manual validation.');
      }
    } else if (resource === 'deliveries' && method === 'GET' && name === undefined) {
      const only = request.query.get('subscription');
      const entries = engine
        .deliveryLog()
        .filter((e) => only === null || e.subscription.toLowerCase() === only.toLowerCase());
      return { status: 200, body: { value: entries } };
    } else if (resource === 'dead-letters' && method === 'GET' && name === undefined) {
      return { status: 200, body: { value: engine.deadLetters() } };
    } else if (resource === 'events' && method === 'GET' && name === undefined) {
      return { status: 200, body: { value: engine.publishedEvents() } };
    } else if (resource === 'at-least-once' && name === undefined) {
      if (method === 'GET') return { status: 200, body: engine.atLeastOnce() };
      if (method === 'PUT') {
        const parsed = parseJson(request);
        if (!parsed.ok) return parsed.response;
        const settings = atLeastOnceSchema.safeParse(parsed.value);
        return settings.success
          ? { status: 200, body: engine.setAtLeastOnce(settings.data) }
          : error(400, 'InvalidSettings', zodMessage(settings.error));
      }
    } else if (resource === 'publish' && method === 'POST' && name === undefined) {
      const parsed = parseJson(request);
      if (!parsed.ok) return parsed.response;
      const event = manifestEventSchema.safeParse(parsed.value);
      if (!event.success) return error(400, 'InvalidEvent', zodMessage(event.error));
      engine.publish(event.data);
      return { status: 202 };
    } else if (resource === 'idle' && method === 'POST' && name === undefined) {
      const timeoutMs = Number(request.query.get('timeoutMs') ?? '30000');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      const outcome = await Promise.race([engine.whenIdle().then(() => 'idle' as const), timedOut]);
      clearTimeout(timer);
      return outcome === 'idle'
        ? { status: 204 }
        : error(504, 'NotIdle', `Deliveries still pending after ${timeoutMs} ms.`);
    }
    return error(405, 'UnsupportedOperation', `${method} ${request.path} is not part of the Event Grid control API.`);
  };
}
