import { z } from 'zod';
import { deliveryStatuses } from '../../alerts/delivery.js';
import type { AlertService } from '../../alerts/service.js';
import { requirePrincipal } from '../principal.js';
import { parseParts, queryObject } from '../request.js';
import type { HttpRoute } from '../route.js';

export interface AlertRouteDependencies {
  readonly alerts: Pick<AlertService, 'list' | 'resend'>;
}

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

type AlertRoute = HttpRoute<AlertRouteDependencies>;

/** Alert deliveries (`?status=failed` lists the dead letters) and re-sending one. */
export const alertRoutes = {
  list: (async (request, _context, { alerts }) => {
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
  }) satisfies AlertRoute,

  resend: (async (request, context, { alerts }) => {
    const principal = requirePrincipal(request, 'Streaming.Write');
    const { id } = parseParts(request.params, idParams, 'params');
    return { status: 202, jsonBody: await alerts.resend(id, context, principal.id) };
  }) satisfies AlertRoute,
};
