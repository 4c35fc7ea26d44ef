import { describe, expect, it } from 'vitest';
import { ConversionApi } from '../../../../../lib/conversion/api.js';
import type { ConversionRecord } from '../../../../../lib/conversion/record.js';
import type { ConversionService } from '../../../../../lib/conversion/service.js';
import { HttpRequest, InvocationContext } from '../../../../../lib/hosting/functions-runtime.js';
import { serve } from '../../../../../lib/http/route.js';
import { conversionRoutes } from '../../../../../lib/http/routes/conversions.js';
import { InMemoryConversionStore } from '../../../../support/fakes/conversion-store.js';
import { digestOf } from '../../../../support/fakes/registry.js';
import { clientPrincipal } from '../../../../support/principals.js';

/*
 * Issue #18 § 6: the list of a registry's conversions shows images, not the streaming artifacts the app's own
 * conversions push (each recorded `Skipped (referrer)`), unless asked for them.
 */
const reader = clientPrincipal({ objectId: 'reader-oid', roles: ['Streaming.Read'] });
const time = '2026-11-23T15:00:00.000Z';

function record(digest: string, fields: Partial<ConversionRecord>): ConversionRecord {
  return {
    registry: 'contoso',
    repository: 'team-a/app',
    digest,
    status: 'Succeeded',
    tags: [],
    reason: 'streaming artifact created',
    source: 'event',
    attempts: 1,
    maxAttempts: 3,
    polls: 1,
    createdAt: time,
    updatedAt: time,
    ...fields,
  };
}

async function list(query: string): Promise<{ status: number; digests: string[] }> {
  const store = new InMemoryConversionStore();
  await store.create(record(digestOf('image'), { tags: ['1.0'], kind: 'image' }));
  await store.create(
    record(digestOf('its-streaming-artifact'), {
      status: 'Skipped',
      kind: 'referrer',
      skipReason: 'referrer',
      reason: 'a referrer (signature, SBOM or streaming artifact) is never converted',
    }),
  );
  const api = new ConversionApi({} as ConversionService, store, ['contoso'], () => Promise.resolve(undefined));
  const response = await serve(conversionRoutes.list, () => ({ conversionApi: api }))(
    new HttpRequest({
      method: 'GET',
      url: `http://127.0.0.1/api/registries/contoso/conversions${query}`,
      params: { registry: 'contoso' },
      headers: { 'x-ms-client-principal': reader },
    }),
    new InvocationContext({ functionName: 'listConversions' }),
  );
  const body = (response.jsonBody ?? {}) as { items?: ConversionRecord[] };
  return { status: response.status ?? 200, digests: (body.items ?? []).map((item) => item.digest) };
}

describe('GET registries/{registry}/conversions', () => {
  it('leaves out referrer rows by default', async () => {
    expect(await list('')).toEqual({ status: 200, digests: [digestOf('image')] });
  });

  it('lists them with includeReferrers=true', async () => {
    const listed = await list('?includeReferrers=true');

    expect(listed.status).toBe(200);
    expect(listed.digests.sort()).toEqual([digestOf('image'), digestOf('its-streaming-artifact')].sort());
  });

  it('refuses an includeReferrers that is not true or false, naming it', async () => {
    expect((await list('?includeReferrers=yes')).status).toBe(400);
  });
});
