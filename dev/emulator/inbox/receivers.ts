import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { z } from 'zod';
import type { EmulatorRequest, EmulatorResponse, RouteHandler } from '../contract.js';
import type { InboxChannel, InboxStore, NewDelivery } from './store.js';

/**
 * The receivers on the management (HTTPS) listener:
 *
 *   POST /inbox/hooks/{channel}   a Standard Webhooks receiver: 204 | 401 (signature, timestamp) | 400 (not JSON)
 *   POST /inbox/teams/{channel}   a Teams Workflows "When a Teams webhook request is received" stand-in:
 *                                 202 | 400 | 413
 *
 * Unknown channel → 404; another method → 405; a scripted `status` behaviour answers first (see store.ts).
 */

/**
 * Teams rejects messages above ~28 KB (docs/sources.md § Teams Workflows messages: observed, not documented); counted
 * in bytes of the UTF-8 body.
 */
export const TEAMS_MAX_BYTES = 28 * 1024;
/** The newest Adaptive Card schema Workflows renders; 1.5+ shows "We're sorry, this card couldn't be displayed". */
export const TEAMS_MAX_CARD_VERSION = '1.4';
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
/** Bodies larger than this are recorded by size only. */
const KEEP_BODY_BYTES = 256 * 1024;

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

function problem(status: number, detail: string, headers: Record<string, string> = {}): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
    body: { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail },
  };
}

function bodyValue(body: Buffer): unknown {
  if (body.length > KEEP_BODY_BYTES) return undefined;
  const text = body.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const teamsEnvelopeSchema = z.object({
  type: z.literal('message', { error: 'type must be "message"' }),
  attachments: z
    .array(
      z.object({
        contentType: z.literal(ADAPTIVE_CARD_CONTENT_TYPE, {
          error: `contentType must be "${ADAPTIVE_CARD_CONTENT_TYPE}" (Workflows accepts Adaptive Cards only, no MessageCard)`,
        }),
        content: z.object({
          type: z.literal('AdaptiveCard', { error: 'content.type must be "AdaptiveCard"' }),
          version: z.string({ error: 'content.version is required' }),
          body: z.array(z.record(z.string(), z.unknown())).optional(),
          actions: z.array(z.record(z.string(), z.unknown())).optional(),
        }),
      }),
    )
    .length(1, 'exactly one attachment is expected'),
});

/** `undefined` when Workflows would render the version, otherwise why not. */
function cardVersionProblem(version: string): string | undefined {
  const match = /^(\d+)\.(\d+)$/.exec(version);
  if (!match) return `content.version "${version}" is not an Adaptive Card version; send "${TEAMS_MAX_CARD_VERSION}"`;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  if (major === 1 && minor <= 4) return undefined;
  return `Adaptive Card version ${version} cannot be rendered by Teams Workflows (Teams would show "We're sorry, this card couldn't be displayed"); send version "${TEAMS_MAX_CARD_VERSION}"`;
}

const zodDetail = (error: z.ZodError): string =>
  error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');

function receiveWebhook(
  store: InboxStore,
  channel: InboxChannel & { secret: string },
  request: EmulatorRequest,
): EmulatorResponse {
  const webhookId = request.headers['webhook-id'];
  const base = {
    channel: channel.name,
    kind: 'webhook' as const,
    bytes: request.body.length,
    body: bodyValue(request.body),
    ...(webhookId === undefined ? {} : { webhookId }),
  };
  const reject = (status: number, reason: string): EmulatorResponse => {
    store.record({ ...base, outcome: 'rejected', status, verified: false, reason });
    return problem(status, reason);
  };
  try {
    // The library's tolerance window (5 min either way) is measured against the wall clock, as a real receiver's is.
    new Webhook(channel.secret).verify(
      request.body,
      {
        'webhook-id': webhookId ?? '',
        'webhook-timestamp': request.headers['webhook-timestamp'] ?? '',
        'webhook-signature': request.headers['webhook-signature'] ?? '',
      },
      { jsonParse: false },
    );
  } catch (error) {
    if (error instanceof WebhookVerificationError)
      return reject(401, `webhook signature verification failed: ${error.message}`);
    throw error;
  }
  if (typeof base.body === 'string' || base.body === undefined) return reject(400, 'the signed body is not JSON');
  // Verified, so webhook-id is present.
  const outcome = store.firstSighting(channel.name, webhookId!) ? 'delivered' : 'duplicate';
  store.record({ ...base, outcome, status: 204, verified: true });
  return { status: 204 };
}

function receiveTeams(store: InboxStore, channel: InboxChannel, request: EmulatorRequest): EmulatorResponse {
  const base = { channel: channel.name, kind: 'teams' as const, bytes: request.body.length };
  const reject = (status: number, reason: string, keepBody = true): EmulatorResponse => {
    store.record({
      ...base,
      ...(keepBody ? { body: bodyValue(request.body) } : {}),
      outcome: 'rejected',
      status,
      reason,
    });
    return problem(status, reason);
  };
  if (request.body.length > TEAMS_MAX_BYTES)
    return reject(
      413,
      `message is ${request.body.length} bytes; Teams accepts at most ${TEAMS_MAX_BYTES} (28 KB)`,
      false,
    );
  let json: unknown;
  try {
    json = JSON.parse(request.body.toString('utf8'));
  } catch {
    return reject(400, 'body is not JSON');
  }
  const parsed = teamsEnvelopeSchema.safeParse(json);
  if (!parsed.success) return reject(400, `not a Teams Workflows message: ${zodDetail(parsed.error)}`);
  const versionProblem = cardVersionProblem(parsed.data.attachments[0]!.content.version);
  if (versionProblem !== undefined) return reject(400, versionProblem);
  store.record({ ...base, body: json, outcome: 'delivered', status: 202 });
  // Workflows answers 202 with an empty body: the flow was triggered, nothing more.
  return { status: 202 };
}

export function createInboxReceiverHandler(store: InboxStore): RouteHandler {
  return (request) => {
    const match = /^\/inbox\/(hooks|teams)\/([^/]+)\/?$/.exec(request.path);
    if (request.listener.kind !== 'management' || !match) return Promise.resolve(undefined);
    const kind = match[1] === 'hooks' ? 'webhook' : 'teams';
    const channel = store.channel(match[2]!);
    if (channel?.kind !== kind)
      return Promise.resolve(problem(404, `no ${kind} channel ${match[2]!} in the sandbox inbox`));
    if (request.method !== 'POST')
      return Promise.resolve(problem(405, 'receivers accept POST only', { allow: 'POST' }));

    const scripted = store.takeScripted(channel.name);
    if (scripted) {
      const delivery: NewDelivery = {
        channel: channel.name,
        kind,
        outcome: 'scripted',
        status: scripted.status,
        reason: 'scripted behaviour',
        bytes: request.body.length,
        body: bodyValue(request.body),
        ...(kind === 'webhook' && request.headers['webhook-id'] !== undefined
          ? { webhookId: request.headers['webhook-id'] }
          : {}),
      };
      store.record(delivery);
      const headers: Record<string, string> =
        scripted.retryAfterSeconds === undefined ? {} : { 'retry-after': String(scripted.retryAfterSeconds) };
      return Promise.resolve(
        problem(
          scripted.status,
          `scripted by the sandbox inbox (PUT /inbox/channels/${channel.name}/behaviour)`,
          headers,
        ),
      );
    }
    if (channel.secret !== undefined)
      return Promise.resolve(receiveWebhook(store, { ...channel, secret: channel.secret }, request));
    return Promise.resolve(receiveTeams(store, channel, request));
  };
}
