import { describe, expect, it } from 'vitest';
import { HttpRequest, InvocationContext } from '../../../../lib/hosting/functions-runtime.js';
import { requirePrincipal } from '../../../../lib/http/principal.js';
import { serve } from '../../../../lib/http/route.js';
import { clientPrincipal } from '../../../support/principals.js';

/** Issue #17 § 2: every refusal leaves a trace — a 403 is logged at warning with the caller, on every route. */
describe('serve', () => {
  it('logs a refusal at warning with the caller id and why, and answers problem+json 403', async () => {
    const lines: Array<{ level: string; args: unknown[] }> = [];
    const context = new InvocationContext({
      functionName: 'startConversion',
      logHandler: (level, ...args) => void lines.push({ level, args }),
    });
    const route = serve(
      async (request) => {
        requirePrincipal(request, 'Streaming.Write');
        return Promise.resolve({ status: 202 });
      },
      () => ({}),
    );
    const principal = clientPrincipal({
      objectId: 'reader-oid',
      name: 'reader@contoso.test',
      roles: ['Streaming.Read'],
    });

    const response = await route(
      new HttpRequest({
        method: 'POST',
        url: 'http://127.0.0.1/api/registries/contoso/conversions',
        headers: { 'x-ms-client-principal': principal },
      }),
      context,
    );

    expect(response.status).toBe(403);
    expect(lines.filter((line) => line.level === 'warning')).toEqual([
      {
        level: 'warning',
        args: [
          'POST /api/registries/contoso/conversions refused for reader-oid: roles: requires Streaming.Write',
          { caller: 'reader-oid', callerName: 'reader@contoso.test', function: 'startConversion' },
        ],
      },
    ]);
  });
});
