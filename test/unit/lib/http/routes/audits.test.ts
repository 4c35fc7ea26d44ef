import { describe, expect, it } from 'vitest';
import { zeroCounters, type AuditRun } from '../../../../../lib/audit/model.js';
import { HttpRequest, InvocationContext } from '../../../../../lib/hosting/functions-runtime.js';
import { serve } from '../../../../../lib/http/route.js';
import { auditRoutes } from '../../../../../lib/http/routes/audits.js';
import { clientPrincipal } from '../../../../support/principals.js';

/* Issue #18 § 6: GET /api/audits without `registry` answers for every configured registry. */
const reader = clientPrincipal({ objectId: 'reader-oid', roles: ['Streaming.Read'] });

const run = (registry: string, startedAt: string): AuditRun => ({
  registry,
  runId: `${registry}-${startedAt}`,
  startedAt,
  complete: true,
  counters: zeroCounters,
});

const stored: Record<string, AuditRun[]> = {
  contoso: [run('contoso', '2026-11-23T12:00:00.000Z'), run('contoso', '2026-11-22T12:00:00.000Z')],
  fabrikam: [run('fabrikam', '2026-11-23T06:00:00.000Z')],
};

async function get(query: string): Promise<{ status: number; body: unknown }> {
  const deps = {
    imageAudit: { start: () => Promise.resolve('unused') },
    // Newest first per registry, as the Table partition is ordered.
    auditStore: {
      recentRuns: (registry: string, count: number) => Promise.resolve((stored[registry] ?? []).slice(0, count)),
    },
    registryNames: ['contoso', 'fabrikam'],
  };
  const response = await serve(auditRoutes.list, () => deps)(
    new HttpRequest({
      method: 'GET',
      url: `http://127.0.0.1/api/audits${query}`,
      headers: { 'x-ms-client-principal': reader },
    }),
    new InvocationContext({ functionName: 'listAudits' }),
  );
  return { status: response.status ?? 200, body: response.jsonBody };
}

const ids = (body: unknown): string[] => (body as { items: AuditRun[] }).items.map((item) => item.runId);

describe('GET audits', () => {
  it('without registry lists every configured registry runs, newest first', async () => {
    const answer = await get('');

    expect(answer.status).toBe(200);
    expect(ids(answer.body)).toEqual([
      'contoso-2026-11-23T12:00:00.000Z',
      'fabrikam-2026-11-23T06:00:00.000Z',
      'contoso-2026-11-22T12:00:00.000Z',
    ]);
  });

  it('keeps count across registries', async () => {
    expect(ids((await get('?count=2')).body)).toEqual([
      'contoso-2026-11-23T12:00:00.000Z',
      'fabrikam-2026-11-23T06:00:00.000Z',
    ]);
  });

  it('with registry lists that registry only', async () => {
    expect(ids((await get('?registry=fabrikam')).body)).toEqual(['fabrikam-2026-11-23T06:00:00.000Z']);
  });
});
