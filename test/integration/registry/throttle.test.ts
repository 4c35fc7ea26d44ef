import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { StartedRegistry } from '../../../dev/emulator/server.js';
import { AcrError } from '../../../lib/core/errors.js';
import { silentLogger } from '../../../lib/core/logging.js';
import { RegistryClient } from '../../../lib/registry/client.js';
import { SharedRegistryThrottle } from '../../../lib/registry/throttle.js';
import { TableThrottleStore } from '../../../lib/storage/throttle-store.js';
import { uniquePrefix } from '../../support/names.js';
import { trustingHttpClient } from '../../support/trust.js';
import { startTestEmulator, type TestEmulator } from '../emulator/helpers.js';

const connectionString = inject('storageConnectionString');

/**
 * Two app instances' ACR clients, each with its own throttle cache, sharing one Throttle table on Azurite: a 429 one
 * of them meets holds the other's requests to that registry until ACR's Retry-After has passed.
 */
describe('shared throttling across instances (issue #19 § 5)', () => {
  let t: TestEmulator;
  let registry: StartedRegistry;
  let store: TableThrottleStore;
  let digest: string;

  const instance = (): { client: RegistryClient; throttle: SharedRegistryThrottle } => {
    const throttle = new SharedRegistryThrottle('contoso', { store, log: silentLogger });
    const client = new RegistryClient({
      loginServer: registry.loginServer,
      credentials: { type: 'password', username: registry.username!, password: registry.password! },
      httpClient: trustingHttpClient(registry.caFile),
      // The first instance gives its 429 back at once, so every request after it is the second instance's.
      retry: { maxRetries: 0 },
      throttle,
    });
    return { client, throttle };
  };

  /**
   * The first instance meets ACR's 429 (Retry-After: 3 s) and has shared it; returns the 429's position in the
   * request log and when the wait it asked for ends.
   */
  const throttleFirstInstance = async (): Promise<{ since: number; until: number }> => {
    const first = instance();
    await first.client.getManifest('team-a/app', 'v1'); // token and a first read, before the throttling starts
    await t.control.addFault({
      listener: 'contoso',
      action: { kind: 'status', status: 429, retryAfterSeconds: 3 },
      count: 1,
    });
    await expect(first.client.getManifest('team-a/app', 'v1')).rejects.toMatchObject({ status: 429 });
    await first.throttle.settled();
    const throttled = (await t.control.requests({ listener: 'registry' })).filter((entry) => entry.status === 429);
    // ACR asked for 3 s from its answer; the first instance saw the answer a little later still.
    return { since: throttled[0]!.sequence, until: Date.parse(throttled[0]!.time) + 3_000 };
  };

  beforeAll(async () => {
    // Real time: the request log's times are the wall clock's, comparable with Retry-After.
    t = await startTestEmulator({ registries: [{ name: 'contoso' }], clock: { realTime: true } });
    registry = t.emulator.registry('contoso');
    digest = (
      await t.control.seedImage('contoso', {
        repository: 'team-a/app',
        tag: 'v1',
        kind: 'image',
        platform: 'linux/amd64',
      })
    ).digest;
  });
  afterAll(() => t.emulator.close());
  beforeEach(async () => {
    const table = TableClient.fromConnectionString(connectionString, uniquePrefix('throttle'), {
      allowInsecureConnection: true,
    });
    await table.createTable();
    store = new TableThrottleStore(table);
    await t.control.clearFaults();
    await t.control.clearRequests();
  });

  it('the second instance sends nothing to the registry before the throttled-until time, then succeeds', async () => {
    const { since, until } = await throttleFirstInstance();
    const second = instance();

    const manifest = await second.client.getManifest('team-a/app', 'v1');

    const secondRequests = await t.control.requests({ since, listener: 'registry' });
    expect(manifest?.digest).toBe(digest);
    expect(secondRequests.length).toBeGreaterThan(0);
    expect(secondRequests.filter((entry) => Date.parse(entry.time) < until)).toEqual([]);
  });

  it('a call under a lease that the wait would outlast is not sent at all: the caller gets a 429 with the wait', async () => {
    const { since, until } = await throttleFirstInstance();
    const second = instance();

    const started = second.client.startStreamingConversion('team-a/app', digest, { notAfter: new Date(until - 1_000) });

    const error = await started.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(AcrError);
    expect(error).toMatchObject({ status: 429, details: { retryAfterMs: expect.any(Number) as number } });
    expect(await t.control.requests({ since, listener: 'registry' })).toEqual([]);
  });
});
