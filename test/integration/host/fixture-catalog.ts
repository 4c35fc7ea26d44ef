import type { EventGridEvent } from '@azure/functions';
import { ValidationError } from '../../../lib/core/errors.js';
import { errorToResponse } from '../../../lib/http/problem.js';
import { requirePrincipal } from '../../../lib/http/principal.js';
import type {
  EventGridFunction,
  FunctionDeclaration,
  HttpFunction,
  QueueFunction,
  TimerFunction,
} from '../../../lib/hosting/catalog.js';

/** What the fixture functions observed, for assertions. */
export interface Observed {
  events: EventGridEvent[];
  queueMessages: Array<{ body: unknown; dequeueCount: unknown }>;
  timerRuns: Array<{ isPastDue: boolean }>;
}

async function barrier(observed: Observed): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (observed.events.filter((event) => event.subject === 'barrier').length < 2) {
    if (Date.now() > deadline) throw new Error('the other barrier event never ran: the batch ran one by one');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A catalog exercising every trigger kind, with failure switches driven by the input itself. */
export function fixtureCatalog(queueName: string, observed: Observed, gate?: Promise<void>): FunctionDeclaration[] {
  return [
    {
      name: 'echoRoute',
      trigger: {
        type: 'http',
        route: 'registries/{registry}/policies/{*scope}',
        methods: ['GET', 'PUT'],
        authLevel: 'function',
      },
      handler: async (request) => {
        const body = request.method === 'PUT' ? await request.text() : undefined;
        return {
          status: 200,
          jsonBody: {
            params: request.params,
            query: Object.fromEntries(request.query.entries()),
            method: request.method,
            body,
          },
        };
      },
    } satisfies HttpFunction,
    {
      name: 'validates',
      trigger: { type: 'http', route: 'validates', methods: ['POST'], authLevel: 'anonymous' },
      handler: (_request, context) =>
        errorToResponse(
          new ValidationError('Invalid body: body.tag: required', [{ field: 'body.tag', reason: 'required' }]),
          context,
        ),
    } satisfies HttpFunction,
    {
      name: 'whoami',
      trigger: { type: 'http', route: 'whoami', methods: ['GET'], authLevel: 'anonymous' },
      handler: (request, context) => {
        try {
          return Promise.resolve({ status: 200, jsonBody: { id: requirePrincipal(request, 'Streaming.Read').id } });
        } catch (error) {
          return Promise.resolve(errorToResponse(error, context));
        }
      },
    } satisfies HttpFunction,
    {
      name: 'slow',
      trigger: { type: 'http', route: 'slow', methods: ['GET'], authLevel: 'anonymous' },
      handler: async () => {
        await gate;
        return { status: 200, body: 'finished' };
      },
    } satisfies HttpFunction,
    {
      name: 'onEvent',
      trigger: { type: 'eventGrid' },
      handler: async (event) => {
        observed.events.push(event);
        if (event.subject === 'fail') throw new Error('handler refused the event');
        // Two `barrier` events of one batch each wait for the other: only a host that runs a batch's events at once
        // lets both finish (bounded, so a host that runs them one by one fails fast instead of hanging).
        if (event.subject === 'barrier') await barrier(observed);
      },
    } satisfies EventGridFunction,
    {
      name: 'onMessage',
      trigger: { type: 'storageQueue', queueName, connection: 'AzureWebJobsStorage' },
      handler: (message, context) => {
        observed.queueMessages.push({ body: message, dequeueCount: context.triggerMetadata?.dequeueCount });
        if ((message as { fail?: boolean } | null)?.fail) throw new Error('message handler failed');
      },
    } satisfies QueueFunction,
    {
      name: 'everyHour',
      trigger: { type: 'timer', schedule: '%FIXTURE_SCHEDULE%' },
      handler: (timer) => {
        observed.timerRuns.push({ isPastDue: timer.isPastDue });
      },
    } satisfies TimerFunction,
  ];
}
