import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { streamingArtifactType } from '../../lib/core/acr.js';
import { SandboxHarness, settled, type HostProcess } from '../support/sandbox-harness.js';

/** Push to streamable, end to end: skopeo → emulated ACR → Event Grid → local host → ACR streaming API. */
describe('push to streaming', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({
      storageConnectionString: inject('storageConnectionString'),
      settings: {
        DEFAULT_POLICY: JSON.stringify({
          mode: 'onPush',
          tags: { include: ['*'], exclude: ['*-dev'] },
          retry: { maxAttempts: 2, initialDelaySeconds: 1, maxDelaySeconds: 2 },
        }),
      },
      extraRegistries: [{ name: 'standardreg', sku: 'Standard' }],
    });
    host = await sandbox.startHost();
  });
  afterAll(() => sandbox.close());

  it('converts an amd64 image pushed by tag, and its referrer push starts nothing', async () => {
    const digest = await sandbox.push('team-a/app', 'v1');

    const view = await sandbox.waitForConversion(host, 'team-a/app', digest, settled);

    expect(view).toMatchObject({
      status: 'Succeeded',
      attempts: 1,
      tags: ['v1'],
      kind: 'image',
      platforms: 'linux/amd64',
      source: 'event',
    });
    expect(view.operationId).toMatch(/^[0-9a-f-]{36}$/);
    const acr = sandbox.emulator.emulator.state.registries.get('sandbox')!;
    const referrers = acr.store
      .referrers('team-a/app', digest)
      .filter((descriptor) => descriptor.artifactType === streamingArtifactType);
    expect(referrers).toHaveLength(1);
    await sandbox.emulator.eventGrid.whenIdle();
    const referrerView = await sandbox.waitForConversion(host, 'team-a/app', referrers[0]!.digest, settled);
    expect(referrerView).toMatchObject({ status: 'Skipped', skipReason: 'referrer' });
    expect(await sandbox.conversionPosts('team-a/app', digest)).toBe(1);
    expect(await sandbox.conversionPosts('team-a/app', referrers[0]!.digest)).toBe(0);
  });

  it("skips an arm64-only image with the reason, and a forced attempt fails with ACR's code and the fix", async () => {
    const digest = await sandbox.push('team-c/arm', 'v1', 'linux/arm64');

    const skipped = await sandbox.waitForConversion(host, 'team-c/arm', digest, settled);
    expect(skipped).toMatchObject({ status: 'Skipped', skipReason: 'unsupported-platform', platforms: 'linux/arm64' });
    expect(skipped.reason).toMatch(/linux\/amd64 only/);
    expect(await sandbox.conversionPosts('team-c/arm', digest)).toBe(0);

    const forced = await sandbox.api(host, '/registries/sandbox/conversions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repository: 'team-c/arm', digest, force: true }),
    });
    expect(forced.status).toBe(202);
    const failed = await sandbox.waitForConversion(host, 'team-c/arm', digest, (view) => view.status === 'Failed');
    expect(failed).toMatchObject({ lastErrorCode: 'UNSUPPORTED_PLATFORM', source: 'manual', attempts: 1 });
    expect(failed.remediation).toMatch(/linux\/amd64 images only/);
  });

  it('converts a multi-arch index that has a linux/amd64 image', async () => {
    const digest = await sandbox.push('team-c/multi', 'v1', 'index');

    const view = await sandbox.waitForConversion(host, 'team-c/multi', digest, settled);

    expect(view).toMatchObject({ status: 'Succeeded', kind: 'index', platforms: 'linux/amd64,linux/arm64' });
    expect(await sandbox.conversionPosts('team-c/multi', digest)).toBe(1);
  });

  it("skips pushes to a registry that is not Premium, read from ARM with the app's Entra ID identity", async () => {
    const standard = sandbox.emulator.emulator.registry('standardreg');
    const digest = await sandbox.push('team-c/app', 'v1', 'linux/amd64', undefined, standard);

    const view = await sandbox.waitForConversion(host, 'team-c/app', digest, settled, 30_000, 'standardreg');

    expect(view).toMatchObject({ status: 'Skipped', skipReason: 'registry-not-ready' });
    expect(view.reason).toMatch(/Standard; artifact streaming needs the Premium SKU/);
    expect(
      await sandbox.emulator.control.requests({
        method: 'GET',
        path: '/providers/Microsoft.ContainerRegistry/registries/standardreg$',
        listener: 'management',
      }),
    ).toHaveLength(1);
  });

  it('skips a tag the policy excludes', async () => {
    const digest = await sandbox.push('team-c/app', 'v1-dev');

    const view = await sandbox.waitForConversion(host, 'team-c/app', digest, settled);

    expect(view).toMatchObject({ status: 'Skipped', skipReason: 'tag-excluded', policyScope: 'DEFAULT_POLICY' });
    expect(await sandbox.conversionPosts('team-c/app', digest)).toBe(0);
  });

  it('starts exactly one conversion when the same event reaches two hosts several times, concurrently', async () => {
    const second = await sandbox.startHost({ subscribe: false });
    const digest = await sandbox.push('team-d/dup', 'v1');
    const event = sandbox.publishedPush(digest);

    const statuses = await Promise.all(
      [host, second, host, second, second, host].map((target) => sandbox.deliver(target, [event])),
    );
    const view = await sandbox.waitForConversion(second, 'team-d/dup', digest, settled);

    expect(statuses.every((status) => status === 202)).toBe(true);
    expect(view.status).toBe('Succeeded');
    expect(await sandbox.conversionPosts('team-d/dup', digest)).toBe(1);
    await second.stop();
  });

  it('converges through throttling (429 Retry-After) and server errors from ACR', async () => {
    const control = sandbox.emulator.control;
    await control.addFault({
      method: 'POST',
      path: '^/acr/v1/team-e/faulty/_streaming/',
      action: { kind: 'status', status: 429, retryAfterSeconds: 1 },
      count: 2,
    });
    await control.addFault({
      method: 'GET',
      path: '^/acr/v1/team-e/faulty/_operations/',
      action: { kind: 'status', status: 500 },
      count: 3,
    });

    const digest = await sandbox.push('team-e/faulty', 'v1');
    const view = await sandbox.waitForConversion(host, 'team-e/faulty', digest, settled);

    expect(view.status).toBe('Succeeded');
    expect(await sandbox.conversionPosts('team-e/faulty', digest)).toBe(1);
    const throttled = await control.requests({ method: 'POST', path: `^/acr/v1/team-e/faulty/_streaming/${digest}$` });
    expect(throttled.map((entry) => entry.status)).toEqual([429, 429, 202]);
  });

  it("answers POST /conversions with 503 problem+json and ACR's Retry-After while ACR is unavailable, recording nothing", async () => {
    const control = sandbox.emulator.control;
    const fault = await control.addFault({
      method: 'GET',
      path: '^/acr/v1/team-e/unavailable/_tags/',
      action: { kind: 'status', status: 503, retryAfterSeconds: 1 },
    });

    const response = await sandbox.api(host, '/registries/sandbox/conversions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repository: 'team-e/unavailable', tag: 'v1' }),
    });
    await control.removeFault(fault.id);

    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('retry-after')).toBe('1');
    const problem = (await response.json()) as { title: string; detail: string };
    expect(problem.title).toBe('ACR is unavailable');
    expect(problem.detail).toMatch(/^ACR answered 503 UNAVAILABLE to GET \/acr\/v1\/team-e\/unavailable\/_tags\/v1/);
    const list = await sandbox.api(host, '/registries/sandbox/conversions?repository=team-e/unavailable');
    expect(((await list.json()) as { items: unknown[] }).items).toEqual([]);
    expect(host.output()).toMatch(/request failed upstream: ACR answered 503 UNAVAILABLE/);
  });

  it('scenario 8: converts an image ACR does not serve yet when its push event arrives (replication lag)', async () => {
    const control = sandbox.emulator.control;
    await control.setReadLag('sandbox', 1_500);
    try {
      const digest = await sandbox.push('team-e/lagging', 'v1');
      const view = await sandbox.waitForConversion(host, 'team-e/lagging', digest, settled);

      expect(view).toMatchObject({ status: 'Succeeded', platforms: 'linux/amd64', attempts: 1 });
      expect(host.output()).toMatch(/team-e\/lagging@sha256:[0-9a-f]{12}: ACR does not serve the manifest yet/);
    } finally {
      await control.setReadLag('sandbox', 0);
    }
  });

  it('scenario 8: polls through an operation status ACR has never been seen to send, to the end', async () => {
    await sandbox.emulator.control.setStreamingBehaviour('sandbox', 'team-e/novel', {
      runningStatus: 'Optimizing',
      durationMs: 4_000,
    });
    const digest = await sandbox.push('team-e/novel', 'v1');

    const view = await sandbox.waitForConversion(host, 'team-e/novel', digest, settled);

    expect(view).toMatchObject({ status: 'Succeeded', attempts: 1 });
    expect(host.output()).toMatch(/unknown operation status "Optimizing"; polling on/);
  });

  it('operations expire: converges when the tracked operation is forgotten as it ends (referrer found)', async () => {
    // Forgotten the moment it ends: the poll after the end gets 404 OPERATION_UNKNOWN, never the Succeeded.
    await sandbox.emulator.control.setStreamingBehaviour('sandbox', 'team-e/forgotten', {
      operationExpiry: { afterMs: 0, from: 'finished' },
    });
    const digest = await sandbox.push('team-e/forgotten', 'v1');

    const view = await sandbox.waitForConversion(host, 'team-e/forgotten', digest, settled);

    expect(view).toMatchObject({ status: 'Succeeded', attempts: 1 });
    expect(await sandbox.conversionPosts('team-e/forgotten', digest)).toBe(1);
    expect(host.output()).toMatch(/team-e\/forgotten@sha256:[0-9a-f]{12}: attempt 1 failed with OPERATION_UNKNOWN/);
    const operations = (await sandbox.emulator.control.listOperations('sandbox')).filter((op) => op.digest === digest);
    expect(operations).toMatchObject([{ status: 'Succeeded', forgotten: true }]);
  });

  it('operations expire: converges when the tracked operation is forgotten while it runs (restarted)', async () => {
    const control = sandbox.emulator.control;
    // The first operation runs 10 s but is forgotten after 0.5 s, before the first poll; the next one is kept.
    await control.setStreamingBehaviour('sandbox', 'team-e/amnesia', {
      durationMs: 10_000,
      operationExpiry: { afterMs: 500, from: 'created' },
    });
    const digest = await sandbox.push('team-e/amnesia', 'v1');
    await sandbox.eventually(async () =>
      (await control.listOperations('sandbox')).some((op) => op.digest === digest) ? true : undefined,
    );
    await control.setStreamingBehaviour('sandbox', 'team-e/amnesia', { durationMs: 1_000, operationExpiry: 'never' });

    const view = await sandbox.waitForConversion(host, 'team-e/amnesia', digest, settled);

    expect(view).toMatchObject({ status: 'Succeeded', attempts: 2 });
    const operations = (await control.listOperations('sandbox')).filter((op) => op.digest === digest);
    expect(operations.map((op) => op.forgotten)).toEqual([true, false]);
    expect(await sandbox.conversionPosts('team-e/amnesia', digest)).toBe(view.attempts);
  });

  it('scenario 5: a throttled start that would outlast the lease, with the sweeper running, makes one conversion', async () => {
    const control = sandbox.emulator.control;
    // Four 429s, 4 s apart: retrying them all would take 16 s, past the 10 s lease, while the sweeper (every 2 s)
    // hands a Pending row whose lease ran out to another worker, which starts it too.
    await control.addFault({
      method: 'POST',
      path: '^/acr/v1/team-e/leased/_streaming/',
      action: { kind: 'status', status: 429, retryAfterSeconds: 4 },
      count: 4,
    });

    const digest = await sandbox.push('team-e/leased', 'v1');
    const view = await sandbox.waitForConversion(host, 'team-e/leased', digest, settled, 60_000);

    expect(view.status).toBe('Succeeded');
    expect(await sandbox.conversionPosts('team-e/leased', digest)).toBe(1);
  });

  it("retries UNKNOWN_ERROR up to the policy's attempts, then records Failed with the operation id and an outbox event", async () => {
    await sandbox.emulator.control.setStreamingBehaviour('sandbox', 'team-e/flaky', { outcome: 'UnknownError' });

    const digest = await sandbox.push('team-e/flaky', 'v1');
    const view = await sandbox.waitForConversion(host, 'team-e/flaky', digest, settled);

    expect(view).toMatchObject({ status: 'Failed', attempts: 2, lastErrorCode: 'UNKNOWN_ERROR' });
    expect(view.remediation).toContain(view.operationId!);
    expect(await sandbox.conversionPosts('team-e/flaky', digest)).toBe(2);
    const outbox = TableClient.fromConnectionString(
      inject('storageConnectionString'),
      `${sandbox.settings.STORAGE_PREFIX}Outbox`,
      { allowInsecureConnection: true },
    );
    const events = [];
    for await (const entity of outbox.listEntities<{ type: string; payload: string }>()) events.push(entity);
    const failed = events.filter((entity) => entity.type === 'conversion.failed' && entity.payload.includes(digest));
    expect(failed).toHaveLength(1);
  });

  it('marks a deleted image Deleted, and a later push of the same digest is streamable again', async () => {
    const label = 'team-f/gone:fixed-content';
    const digest = await sandbox.push('team-f/gone', 'v1', 'linux/amd64', label);
    await sandbox.waitForConversion(host, 'team-f/gone', digest, settled);

    await sandbox.emulator.control.deleteManifest('sandbox', 'team-f/gone', digest);
    await sandbox.emulator.eventGrid.whenIdle();
    const deleted = await sandbox.waitForConversion(host, 'team-f/gone', digest, (view) => view.status === 'Deleted');
    expect(deleted.status).toBe('Deleted');

    expect(await sandbox.push('team-f/gone', 'v2', 'linux/amd64', label)).toBe(digest);
    const again = await sandbox.waitForConversion(host, 'team-f/gone', digest, (view) => view.status === 'Succeeded');
    expect(again.tags).toContain('v2');
  });

  it('rejects a spoofed topic and malformed events without acting, answering 202 so Event Grid does not retry', async () => {
    const digest = await sandbox.push('team-g/quiet', 'v1');
    await sandbox.waitForConversion(host, 'team-g/quiet', digest, settled);
    const genuine = sandbox.publishedPush(digest) as { topic: string; data: { target: Record<string, unknown> } };
    await sandbox.emulator.control.clearRequests();
    const spoofed = {
      ...genuine,
      id: 'spoofed-1',
      topic: '/subscriptions/evil/resourceGroups/x/providers/Microsoft.ContainerRegistry/registries/sandbox',
      data: { ...genuine.data, target: { ...genuine.data.target, repository: 'team-g/spoofed' } },
    };
    const malformed = {
      id: 'malformed-1',
      topic: genuine.topic,
      eventType: 'Microsoft.ContainerRegistry.ImagePushed',
      data: { target: { repository: '../../etc', digest: 'nope' } },
    };

    expect(await sandbox.deliver(host, [spoofed, malformed])).toBe(202);

    expect(await sandbox.conversion(host, 'team-g/spoofed', digest)).toBeUndefined();
    expect(await sandbox.emulator.control.requests({ path: 'team-g' })).toEqual([]);
    expect(host.output()).toMatch(/event rejected: topic \/subscriptions\/evil\/.* is not a configured registry/);
    expect(host.output()).toMatch(/event rejected: .*not an OCI repository name/);
  });

  it('logs every line of the conversion path with its correlation fields, and emits the metrics operators query', async () => {
    // Its own traffic, so it does not depend on what the tests before it left in the log: one conversion that is
    // throttled once and succeeds, one that fails (the policy allows 2 attempts).
    const control = sandbox.emulator.control;
    await control.addFault({
      method: 'POST',
      path: '^/acr/v1/team-m/observed/_streaming/',
      action: { kind: 'status', status: 429, retryAfterSeconds: 1 },
      count: 1,
    });
    await control.setStreamingBehaviour('sandbox', 'team-m/failing', { outcome: 'UnknownError' });
    const observed = await sandbox.push('team-m/observed', 'v1');
    const failing = await sandbox.push('team-m/failing', 'v1');
    expect((await sandbox.waitForConversion(host, 'team-m/observed', observed, settled)).status).toBe('Succeeded');
    expect((await sandbox.waitForConversion(host, 'team-m/failing', failing, settled)).status).toBe('Failed');
    // The sweeper (every 2 s here) emits the health snapshot with the ACR retries; the failure's alert follows.
    await sandbox.eventually(
      () =>
        Promise.resolve(
          host.output().includes('"metric":"acr.retry"') && host.output().includes('"metric":"alert.delivery"')
            ? true
            : undefined,
        ),
      15_000,
    );

    const lines = host.output().split('\n');
    const conversionPath = lines.filter(
      (line) =>
        /Function\.(onRegistryEvent|trackConversion) /.test(line) &&
        [observed, failing].some((digest) => line.includes(digest)) &&
        !/"metric"/.test(line),
    );
    const metrics = lines.flatMap((line) => {
      const match = /metric (\{.*\})$/.exec(line);
      return match ? [JSON.parse(match[1]!) as { metric: string; value: number; [dimension: string]: unknown }] : [];
    });

    for (const digest of [observed, failing])
      expect(conversionPath.filter((line) => line.includes(digest)).length).toBeGreaterThanOrEqual(2);
    const missing = conversionPath.filter(
      (line) =>
        !(line.includes('"registry":"') && line.includes('"repository":"') && line.includes('"digest":"sha256:')),
    );
    expect(missing).toEqual([]);
    expect(
      lines
        .filter((line) => /: conversion (requested|adopted) /.test(line))
        .every((line) => line.includes('"operationId":"')),
    ).toBe(true);
    const names = new Set(metrics.map((metric) => metric.metric));
    for (const name of [
      'conversion.requested',
      'conversion.finished',
      'conversion.pushToStreamableSeconds',
      'queue.depth',
      'acr.retry',
      'alert.delivery',
    ])
      expect(names).toContain(name);
    expect(
      metrics
        .filter((metric) => metric.metric === 'conversion.finished' && metric.status === 'Failed')
        .map((metric) => metric.errorCode),
    ).toContain('UNKNOWN_ERROR');
    expect(metrics.find((metric) => metric.metric === 'acr.retry' && metric.status === 429)).toMatchObject({
      registry: 'sandbox',
    });
  });

  it('finishes a conversion after the host is killed mid-way, without a second conversion request', async () => {
    await sandbox.emulator.control.setStreamingBehaviour('sandbox', 'team-h/slow', { durationMs: 6_000 });
    const digest = await sandbox.push('team-h/slow', 'v1');
    await sandbox.waitForConversion(host, 'team-h/slow', digest, (view) => view.status === 'Running');

    await host.kill();
    host = await sandbox.startHost();
    const view = await sandbox.waitForConversion(host, 'team-h/slow', digest, settled, 60_000);

    expect(view.status).toBe('Succeeded');
    expect(await sandbox.conversionPosts('team-h/slow', digest)).toBe(1);
  });
});
