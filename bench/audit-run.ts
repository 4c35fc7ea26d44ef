/**
 * One run of the missing-streaming-artifact audit in a process of its own, so its peak RSS is the audit's and not
 * the emulator's. Forked by bench/audit.ts with the target in AUDIT_RUN (JSON); reports an AuditRunResult over IPC.
 * The audit's code comes from `codeRoot` (default this checkout): bench/baseline.ts's tree of today's code runs in
 * the same harness, so both are measured, and their Table writes counted, the same way.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TableClient } from '@azure/data-tables';
import type { AuditMessage } from '../lib/audit/images.js';
import type * as ImagesModule from '../lib/audit/images.js';
import type * as AuditStoreModule from '../lib/storage/audit-store.js';
import type * as LoggingModule from '../lib/core/logging.js';
import type * as ConfigSourceModule from '../lib/policy/config-source.js';
import type * as PolicyModelModule from '../lib/policy/model.js';
import type * as RegistryClientModule from '../lib/registry/client.js';
import type * as ConversionStoreModule from '../lib/storage/conversion-store.js';
import type * as OutboxModule from '../lib/storage/outbox.js';
import type * as DriftModule from '../lib/policy/drift.js';
import { countingTable, noTableWrites } from '../test/support/table-writes.js';
import { trustingHttpClient } from '../test/support/trust.js';

export interface AuditRunTarget {
  readonly loginServer: string;
  readonly username: string;
  readonly password: string;
  readonly caFile: string;
  readonly storageConnectionString: string;
  readonly tablePrefix: string;
  /** The policy every repository falls under (default onPush). */
  readonly mode?: 'onPush' | 'native';
  /** Hold each repository's ACR switch to the policy (issue #15); off by default, as before it existed. */
  readonly checkSwitches?: boolean;
  /** The source tree whose lib/ is audited (bench/baseline.ts's for today's code); default this checkout. */
  readonly codeRoot?: string;
}

export interface AuditRunResult {
  readonly seconds: number;
  readonly examined: number;
  readonly streamable: number;
  readonly missing: number;
  readonly referrerChecks: number;
  readonly switchChecks: number;
  readonly switchRepairs: number;
  /** Wall time spent awaiting the audit's Table Storage calls (findings, runs, conversion records). */
  readonly tableSeconds: number;
  /** Entities the run wrote (upserts, creates, updates) and deleted in the audits table, run rows included. */
  readonly tableWrites: number;
  readonly tableDeletes: number;
  /** RSS once everything is imported and connected, before the run. */
  readonly baselineRssMiB: number;
  readonly peakRssMiB: number;
  readonly peakHeapMiB: number;
}

/**
 * Peak RSS of this process image. Not `resourceUsage().maxRSS`: Linux carries the forking parent's RSS over into
 * the child's maxrss across exec, which made this figure the emulator's. VmHWM belongs to this image alone.
 */
function peakRssBytes(sampledPeak: number): number {
  try {
    const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kib !== undefined) return Math.max(sampledPeak, Number(kib) * 1024);
  } catch {
    // not Linux: the 50 ms samples are the figure
  }
  return sampledPeak;
}

/** Adds the time spent awaiting each method of `target` to `clock.ms` (calls of the audit are sequential). */
function timed<T extends object>(target: T, clock: { ms: number }): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const started = performance.now();
        const result: unknown = Reflect.apply(value, object, args);
        if (!(result instanceof Promise)) return result;
        return result.finally(() => (clock.ms += performance.now() - started));
      };
    },
  });
}

/** The audit's modules from a source tree (this checkout's types: today's tree has the same shapes). */
async function auditCode(root: string) {
  const load = <T>(path: string): Promise<T> => import(pathToFileURL(join(root, path)).href) as Promise<T>;
  const [images, auditStore, logging, configSource, policyModel, registryClient, conversionStore, outbox, drift] =
    await Promise.all([
      load<typeof ImagesModule>('lib/audit/images.ts'),
      load<typeof AuditStoreModule>('lib/storage/audit-store.ts'),
      load<typeof LoggingModule>('lib/core/logging.ts'),
      load<typeof ConfigSourceModule>('lib/policy/config-source.ts'),
      load<typeof PolicyModelModule>('lib/policy/model.ts'),
      load<typeof RegistryClientModule>('lib/registry/client.ts'),
      load<typeof ConversionStoreModule>('lib/storage/conversion-store.ts'),
      load<typeof OutboxModule>('lib/storage/outbox.ts'),
      load<typeof DriftModule>('lib/policy/drift.ts'),
    ]);
  return {
    ImageAudit: images.ImageAudit,
    TableAuditStore: auditStore.TableAuditStore,
    silentLogger: logging.silentLogger,
    configPolicySource: configSource.configPolicySource,
    policySchema: policyModel.policySchema,
    RegistryClient: registryClient.RegistryClient,
    TableConversionStore: conversionStore.TableConversionStore,
    TableOutbox: outbox.TableOutbox,
    SwitchReconciler: drift.SwitchReconciler,
  };
}

async function runOnce(target: AuditRunTarget): Promise<AuditRunResult> {
  const {
    ImageAudit,
    TableAuditStore,
    silentLogger,
    configPolicySource,
    policySchema,
    RegistryClient,
    TableConversionStore,
    TableOutbox,
    SwitchReconciler,
  } = await auditCode(target.codeRoot ?? join(import.meta.dirname, '..'));
  const table = (name: string): TableClient =>
    TableClient.fromConnectionString(target.storageConnectionString, `${target.tablePrefix}${name}`, {
      allowInsecureConnection: true,
    });
  const queue: AuditMessage[] = [];
  const tableTime = { ms: 0 };
  const client = new RegistryClient({
    loginServer: target.loginServer,
    credentials: { type: 'password', username: target.username, password: target.password },
    httpClient: trustingHttpClient(target.caFile),
    concurrency: 8,
  });
  const writes = noTableWrites();
  const auditStore = new TableAuditStore(countingTable(table('Audits'), writes));
  const outbox = new TableOutbox(table('Outbox'));
  const audit = new ImageAudit({
    registries: [
      {
        name: 'sandbox',
        loginServer: target.loginServer,
        resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/sandbox',
        auth: { type: 'identity' },
      },
    ],
    registry: () => client,
    conversions: timed(new TableConversionStore(table('Conversions')), tableTime),
    service: { request: () => Promise.reject(new Error('no backfill in the benchmark')) },
    policies: configPolicySource(
      policySchema.parse({ mode: target.mode ?? 'onPush', backfill: { maxAgeDays: 3_650 } }),
    ),
    readiness: () => Promise.resolve({ ready: true }),
    store: timed(auditStore, tableTime),
    ...(target.checkSwitches
      ? {
          switches: new SwitchReconciler({
            registry: () => client,
            store: timed(auditStore, tableTime),
            outbox,
            clock: { now: () => new Date() },
          }),
        }
      : {}),
    queue: { send: (message) => Promise.resolve(void queue.push(message)) },
    outbox,
    settings: {
      reverifySeconds: 7 * 86_400,
      requestBudget: 1_000_000,
      backfillBudget: 0,
      quietSeconds: 600,
      maxMessageMs: 3_600_000,
    },
    clock: { now: () => new Date() },
  });
  const baselineRssMiB = process.memoryUsage().rss / 1024 / 1024;
  let peakHeap = 0;
  let peakRss = 0;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peakHeap = Math.max(peakHeap, usage.heapUsed);
    peakRss = Math.max(peakRss, usage.rss);
  }, 50);
  const started = performance.now();
  await audit.start('sandbox', silentLogger);
  let run;
  while (queue.length > 0) run = await audit.continue(queue.shift(), silentLogger);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  return {
    seconds,
    examined: run?.counters.examined ?? 0,
    streamable: run?.counters.streamable ?? 0,
    missing: run?.counters.missing ?? 0,
    referrerChecks: run?.counters.referrerChecks ?? 0,
    switchChecks: run?.counters.switchChecks ?? 0,
    switchRepairs: run?.counters.switchRepairs ?? 0,
    tableSeconds: tableTime.ms / 1000,
    tableWrites: writes.upserts,
    tableDeletes: writes.deletes,
    baselineRssMiB,
    peakRssMiB: peakRssBytes(peakRss) / 1024 / 1024,
    peakHeapMiB: peakHeap / 1024 / 1024,
  };
}

const target = JSON.parse(process.env.AUDIT_RUN ?? '{}') as AuditRunTarget;
const result = await runOnce(target);
process.send?.(result);
process.disconnect?.();
