import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { requirePrincipal } from '../http/principal.js';
import { parseParts, queryObject, respond } from '../http/request.js';
import type { AlertService } from './service.js';
import { deliveryStatuses } from './delivery.js';

const listQuery = z
  .object({
    status: z.enum(deliveryStatuses).optional(),
    channel: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{1,64}$/)
      .optional(),
    pageSize: z.coerce.number().int().min(1).max(1_000).default(100),
    continuationToken: z.string().max(2_048).optional(),
  })
  .strict();
const idParams = z.object({ id: z.string().min(1).max(200) }).strict();

export const alertHttp = {
  list: (request: HttpRequest, context: InvocationContext, alerts: AlertService): Promise<HttpResponseInit> =>
    respond(context, async () => {
      requirePrincipal(request, 'Streaming.Read');
      const query = parseParts(queryObject(request), listQuery, 'query');
      const filter = {
        ...(query.status ? { status: query.status } : {}),
        ...(query.channel ? { channel: query.channel } : {}),
      };
      return {
        status: 200,
        jsonBody: await alerts.list(filter, {
          pageSize: query.pageSize,
          ...(query.continuationToken ? { continuationToken: query.continuationToken } : {}),
        }),
      };
    }),
  resend: (request: HttpRequest, context: InvocationContext, alerts: AlertService): Promise<HttpResponseInit> =>
    respond(context, async () => {
      requirePrincipal(request, 'Streaming.Write');
      const { id } = parseParts(request.params, idParams, 'params');
      return { status: 202, jsonBody: await alerts.resend(id, context) };
    }),
};
