import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hostKeys, SandboxHarness, type HostProcess } from '../support/sandbox-harness.js';

/**
 * Issue #16, item 2: as in Azure, an invalid app configuration does not stop the host. It starts; every invocation
 * fails with the configuration error; `/api/health` answers 503 `degraded`, `/api/health/details` names each problem
 * (never a value).
 */
describe('an invalid configuration', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;
  const badValue = 'not-a-number-7f3a';

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({
      storageConnectionString: inject('storageConnectionString'),
      settings: { TRACKING_FIRST_POLL_SECONDS: badValue },
    });
    host = await sandbox.startHost({ subscribe: false });
  });
  afterAll(() => sandbox.close());

  it('starts the host anyway; health answers 503, the details name the problems, and every route fails', async () => {
    // Anonymous: degraded and the version, nothing more (issue #17 §4).
    const health = await fetch(`${host.url}/api/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'degraded', version: expect.any(String) as unknown });

    const details = await sandbox.api(host, '/health/details');
    const detailsText = await details.text();
    expect(details.status, detailsText).toBe(503);
    expect(details.headers.get('content-type')).toBe('application/problem+json');
    const problem = JSON.parse(detailsText) as { detail: string; errors: Array<{ field: string; reason: string }> };
    expect(problem.errors.map((error) => error.field)).toContain('TRACKING_FIRST_POLL_SECONDS');
    expect(detailsText).not.toContain(badValue);

    const listed = await sandbox.api(host, '/registries/sandbox/conversions');
    expect(listed.status).toBe(503);
    expect(await listed.text()).toContain('TRACKING_FIRST_POLL_SECONDS');

    expect(host.child.exitCode).toBeNull();
    expect(host.output()).toMatch(/Invalid configuration \(1 problem\)/);
    expect(host.output()).not.toContain(badValue);
    const status = await fetch(`${host.url}/admin/host/status`, { headers: { 'x-functions-key': hostKeys.master } });
    expect(((await status.json()) as { state: string }).state).toBe('Running');
  });
});
