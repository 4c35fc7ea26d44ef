import { z } from 'zod';
import type { ImageAudit } from '../../audit/images.js';
import type { AuditStore } from '../../audit/ports.js';
import { NotFoundError } from '../../core/errors.js';
import { registryNameSchema } from '../../core/registries.js';
import { requirePrincipal } from '../principal.js';
import { registrySelectionBody, selectedRegistries } from './registry-selection.js';
import { parseJsonBody, parseParts, queryObject } from '../request.js';
import type { HttpRoute } from '../route.js';

export const startAuditBody = registrySelectionBody;
const listQuery = z
  .object({
    registry: registryNameSchema.optional(),
    count: z.coerce.number().int().min(1).max(100).default(30),
  })
  .strict();

export interface AuditRouteDependencies {
  readonly imageAudit: Pick<ImageAudit, 'start'>;
  readonly auditStore: Pick<AuditStore, 'recentRuns'>;
  /** The configured registries (REGISTRIES), by name. */
  readonly registryNames: readonly string[];
}

type AuditRoute = HttpRoute<AuditRouteDependencies>;

/** Image audits on demand and their recent runs. */
export const auditRoutes = {
  /** `POST audits` `{registry?}`: starts a run of one registry, or of every configured one. */
  start: (async (request, context, deps) => {
    const principal = requirePrincipal(request, 'Streaming.Write');
    const body =
      request.headers.get('content-length') === '0' || !request.body
        ? {}
        : await parseJsonBody(request, startAuditBody);
    const selected = selectedRegistries(body);
    const registries = selected ?? deps.registryNames;
    const unknown = registries.find((name) => !deps.registryNames.includes(name));
    if (unknown !== undefined)
      throw new NotFoundError(`Registry ${unknown} is not configured.`, [
        {
          field: body.registry === undefined ? 'body.registries' : 'body.registry',
          reason: 'not a configured registry',
        },
      ]);
    const runs = [];
    for (const registry of registries)
      runs.push({ registry, runId: await deps.imageAudit.start(registry, context, principal.id) });
    return { status: 202, jsonBody: { runs } };
  }) satisfies AuditRoute,

  /**
   * `GET audits?registry=&count=`: recent runs with their counters, newest first — of one registry, or, without
   * `registry`, of every configured one merged (what an owner of several registries asks first: what ran lately).
   */
  list: (async (request, _context, deps) => {
    requirePrincipal(request, 'Streaming.Read');
    const query = parseParts(queryObject(request), listQuery, 'query');
    if (query.registry !== undefined && !deps.registryNames.includes(query.registry))
      throw new NotFoundError(`Registry ${query.registry} is not configured.`, [
        { field: 'query.registry', reason: 'not a configured registry' },
      ]);
    const registries = query.registry === undefined ? deps.registryNames : [query.registry];
    const runs = (
      await Promise.all(registries.map((registry) => deps.auditStore.recentRuns(registry, query.count)))
    ).flat();
    // ISO-8601 UTC times sort as text.
    runs.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
    return { status: 200, jsonBody: { items: runs.slice(0, query.count) } };
  }) satisfies AuditRoute,
};
