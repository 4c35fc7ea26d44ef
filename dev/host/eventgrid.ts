import type { IncomingHttpHeaders } from 'node:http';
import type { EventGridEvent, HttpResponseInit } from '@azure/functions';
import { problemResponse } from '../../lib/http/problem.js';
import { isEventGridFunction, type FunctionDeclaration } from '../../lib/hosting/catalog.js';
import type { InvocationRunner } from './invocation.js';

const validationEventType = 'Microsoft.EventGrid.SubscriptionValidationEvent';

interface EventGridRequest {
  readonly catalog: readonly FunctionDeclaration[];
  readonly runner: InvocationRunner;
  readonly log?: (message: string) => void;
  readonly functionName: string | null;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * The Event Grid extension's webhook, as Azure/azure-sdk-for-net's Microsoft.Azure.WebJobs.Extensions.EventGrid does
 * it (src/Config/EventGridExtensionConfigProvider.cs, src/TriggerBinding/HttpRequestProcessor.cs): the function is
 * found by `functionName`, case-sensitively (404 otherwise); `aeg-event-type` is compared ignoring case —
 * SubscriptionValidation is answered by the host itself (200 with `validationResponse`; Event Grid rejects 202),
 * Notification invokes the function once per event of the batch, all at once, and answers 202 Accepted, or 500 if
 * any invocation failed (Event Grid redelivers the batch; handlers are idempotent); Unsubscribe is answered 202;
 * a missing or other value is 400.
 */
export async function invokeEventGrid(request: EventGridRequest): Promise<HttpResponseInit & { status: number }> {
  const declaration = request.catalog
    .filter(isEventGridFunction)
    .find((candidate) => candidate.name === request.functionName);
  if (declaration === undefined) {
    return reject(
      404,
      'Not found',
      `No Event Grid function named "${request.functionName ?? ''}" (pass ?functionName=, case-sensitive).`,
    );
  }
  const eventType = headerValue(request.headers['aeg-event-type'])?.toLowerCase();
  if (eventType === 'unsubscribe') return { status: 202 };
  if (eventType !== 'subscriptionvalidation' && eventType !== 'notification')
    return reject(
      400,
      'Bad request',
      'aeg-event-type must be SubscriptionValidation, Notification or Unsubscribe (Event Grid sets it).',
    );
  const events = parseEvents(request.body);
  if (typeof events === 'string') {
    request.log?.(`Event Grid delivery to ${declaration.name} refused: ${events}`);
    return reject(400, 'Bad request', events);
  }

  if (eventType === 'subscriptionvalidation') {
    const validation = events.find((event) => event.eventType === validationEventType);
    const code = (validation?.data as { validationCode?: unknown } | undefined)?.validationCode;
    if (typeof code !== 'string')
      return reject(400, 'Bad request', 'SubscriptionValidation without data.validationCode.');
    return { status: 200, jsonBody: { validationResponse: code } };
  }

  const outcomes = await Promise.allSettled(
    events.map((event) =>
      request.runner.invoke(
        declaration.name,
        'eventGridTrigger',
        { eventId: event.id, eventType: event.eventType, subject: event.subject },
        (context) => declaration.handler(event, context),
      ),
    ),
  );
  const failures = outcomes.filter((outcome) => outcome.status === 'rejected').length;
  return failures === 0
    ? { status: 202 }
    : reject(500, 'Function failed', `${failures} of ${events.length} event(s) failed; Event Grid will redeliver.`);
}

function parseEvents(body: Buffer): EventGridEvent[] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return 'The body is not JSON.';
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  if (list.length === 0) return 'The body is an empty array.';
  for (const [index, item] of list.entries()) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return `Event ${index} is not an object.`;
    const candidate = item as Record<string, unknown>;
    if (typeof candidate.id !== 'string' || typeof candidate.eventType !== 'string')
      return `Event ${index} lacks id or eventType (Event Grid schema expected).`;
  }
  return list as EventGridEvent[];
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function reject(status: number, title: string, detail: string): HttpResponseInit & { status: number } {
  return problemResponse(status, title, detail) as HttpResponseInit & { status: number };
}
