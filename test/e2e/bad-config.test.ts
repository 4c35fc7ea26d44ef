import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hostKeys, SandboxHarness, type HostProcess } from '../support/sandbox-harness.js';

/**
 * Issue #16, item 2: as in Azure, an invalid app configuration does not stop the host. It starts; every invocation
 * fails with the configuration error; `/api/health` answers 503 naming each problem (never a value).
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

  it('starts the host anyway; health answers 503 with the problems, and every route fails with them', async () => {
    const health = await fetch(`${host.url}/api/health`);
    const healthText = await health.text();
    expect(health.status, healthText).toBe(503);
    expect(health.headers.get('content-type')).toBe('application/problem+json');
    const problem = JSON.parse(healthText) as { detail: string; errors: Array<{ field: string; reason: string }> };
    expect(problem.errors.map((error) => error.field)).toContain('TRACKING_FIRST_POLL_SECONDS');
    expect(healthText).not.toContain(badValue);

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
