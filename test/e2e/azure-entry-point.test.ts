import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalog } from '../../functions/catalog.js';
import { bindingSettings, loadConfig } from '../../lib/config.js';
import { stagePackage } from '../../scripts/stage-package.js';
import { SandboxHarness } from '../support/sandbox-harness.js';

const execFileAsync = promisify(execFile);

/**
 * The deployment package exactly as azd deploys it (scripts/stage-package.ts: the esbuild bundle, host.json and a
 * manifest whose "main" is the bundle, no node_modules), in a directory of its own so nothing outside it resolves.
 */
let outDir: string;
let entry: string;

beforeAll(() => {
  outDir = stagePackage(join(mkdtempSync(join(tmpdir(), 'package-')), 'package')).path;
  const manifest = JSON.parse(readFileSync(join(outDir, 'package.json'), 'utf8')) as { main: string };
  entry = join(outDir, manifest.main);
}, 120_000);

/**
 * What the Azure Functions worker does with this app: import the package's "main" as ESM.
 * Outside the worker @azure/functions runs in "test mode" and says, for each function, that it skipped the
 * registration — which proves every declaration reached `app.*` and nothing failed at module load.
 */
describe('Azure entry point', () => {
  it('imports its "main" and registers every function without doing I/O', () => {
    // No app settings at all: loading must not read configuration or touch storage.
    const run = spawnSync(process.execPath, [entry], { encoding: 'utf8', env: { PATH: process.env.PATH } });

    expect(run.status).toBe(0);
    for (const { name } of catalog) expect(run.stderr).toContain(`Skipping call to register function "${name}"`);
  });
});

/*
 * Inside the worker, `@azure/functions` finds the worker's `@azure/functions-core` module (require, in
 * src/utils/tryGetCoreApiLazy.ts), hands it each function's metadata (`registerFunction`) and its programming model
 * (`setProgrammingModel`); for each invocation the worker asks that model for an InvocationModel with the host's
 * InvocationRequest (RpcTypedData inputs, trigger metadata) and runs getArguments → invokeFunction → getResponse
 * (src/InvocationModel.ts, src/ProgrammingModel.ts). This stand-in plays the worker's module and nothing else: the
 * conversion of inputs and outputs is the library's own.
 */
const standIn = `'use strict';
const state = { model: undefined, functions: [], logs: [] };
globalThis.__functionsCoreStandIn = state;
class Disposable { constructor(callback) { this.callback = callback; } dispose() { this.callback?.(); } }
module.exports = {
  version: '0.0.0-stand-in',
  Disposable,
  setProgrammingModel(model) { state.model = model; },
  getProgrammingModel() { return state.model; },
  registerFunction(metadata, callback) { state.functions.push({ metadata, callback }); return new Disposable(); },
  registerHook() { return new Disposable(); },
  log(level, category, message) { state.logs.push(level + ' ' + category + ' ' + message); },
};
`;

/** Imports the built entry under the stand-in, reports registrations, and runs the invocations given in INVOKE. */
const driver = `
const core = () => globalThis.__functionsCoreStandIn;
await import(process.argv[2]);
const functions = core().functions.map(({ metadata }) => ({ name: metadata.name, bindings: metadata.bindings }));
const invocations = [];
for (const request of JSON.parse(process.env.INVOKE)) {
  const registered = core().functions.find(({ metadata }) => metadata.name === request.functionName);
  const [triggerName] = Object.entries(registered.metadata.bindings)
    .find(([, binding]) => binding.direction === 'in' && binding.type.endsWith('Trigger'));
  const logs = [];
  const model = core().model.getInvocationModel({
    invocationId: 'inv-' + request.functionName,
    request: {
      invocationId: 'inv-' + request.functionName,
      functionId: request.functionName,
      inputData: [{ name: triggerName, data: request.data }],
      triggerMetadata: request.triggerMetadata ?? {},
    },
    metadata: registered.metadata,
    state: undefined,
    log: (level, category, message) => logs.push(String(message)),
  });
  const { context, inputs } = await model.getArguments();
  try {
    const result = await model.invokeFunction(context, inputs, registered.callback);
    invocations.push({ functionName: request.functionName, ok: true, response: await model.getResponse(context, result), logs });
  } catch (error) {
    invocations.push({ functionName: request.functionName, ok: false, error: String(error), logs });
  }
}
// The app's clients keep sockets open, as in the worker, which never exits on its own.
process.stdout.write(JSON.stringify({ functions, invocations }), () => process.exit(0));
`;

interface Binding {
  readonly type: string;
  readonly direction: string;
  readonly queueName?: string;
  readonly connection?: string;
  readonly schedule?: string;
  readonly route?: string;
  readonly authLevel?: string;
  readonly methods?: readonly string[];
}
interface WorkerRun {
  readonly functions: Array<{ name: string; bindings: Record<string, Binding> }>;
  readonly invocations: Invocation[];
}
interface Invocation {
  readonly functionName: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly logs: string[];
  readonly response?: {
    readonly returnValue?: { readonly http?: { statusCode?: string; body?: { string?: string; bytes?: unknown } } };
  };
}

describe("the deployment package through @azure/functions' own registration and invocation path (#16 §2, #19 §1)", () => {
  let sandbox: SandboxHarness;

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({ storageConnectionString: inject('storageConnectionString') });
  });
  afterAll(() => sandbox.close());

  async function runWorker(invoke: readonly object[]): Promise<WorkerRun> {
    const modules = mkdtempSync(join(tmpdir(), 'functions-core-'));
    mkdirSync(join(modules, '@azure', 'functions-core'), { recursive: true });
    writeFileSync(join(modules, '@azure', 'functions-core', 'index.js'), standIn);
    writeFileSync(
      join(modules, '@azure', 'functions-core', 'package.json'),
      JSON.stringify({ name: '@azure/functions-core', main: 'index.js' }),
    );
    const driverFile = join(outDir, 'worker-driver.mjs');
    writeFileSync(driverFile, driver);
    // As the host configures the worker: the app settings, and the binding settings' defaults the app derives.
    const settings = { ...sandbox.settings };
    const env = { PATH: process.env.PATH, ...bindingSettings(loadConfig(settings)), ...settings };
    // Not spawnSync: the emulator the invocations call runs in this process.
    const { stdout } = await execFileAsync(process.execPath, [driverFile, entry], {
      encoding: 'utf8',
      // The library's require('@azure/functions-core') finds the stand-in, as it finds the worker's module in Azure.
      env: { ...env, NODE_PATH: modules, INVOKE: JSON.stringify(invoke) },
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(stdout) as WorkerRun;
  }

  it('registers every function with the bindings the host expects, and handles the inputs the host sends', async () => {
    const foreignEvent = {
      id: 'evt-foreign',
      topic: '/subscriptions/evil/resourceGroups/x/providers/Microsoft.ContainerRegistry/registries/other',
      subject: 'team-a/app:v1',
      eventType: 'Microsoft.ContainerRegistry.ImagePushed',
      eventTime: '2026-11-28T00:00:00Z',
      data: {},
      dataVersion: '1.0',
      metadataVersion: '1',
    };
    const queueMetadata = {
      DequeueCount: { json: '1' },
      Id: { string: 'msg-1' },
      InsertionTime: { json: '"2026-11-28T00:00:00+00:00"' },
      PopReceipt: { string: 'pop' },
    };
    const { functions, invocations } = await runWorker([
      // First, as on an instance woken by a push: what this path loads on first use works without another path
      // having loaded anything before it (the bundle evaluates lazily loaded modules in their import order).
      { functionName: 'onRegistryEvent', data: { json: JSON.stringify(foreignEvent) } },
      {
        functionName: 'health',
        data: { http: { method: 'GET', url: 'http://localhost/api/health', headers: {}, query: {}, params: {} } },
      },
      { functionName: 'trackConversion', data: { string: '{"kind":"nope"}' }, triggerMetadata: queueMetadata },
      { functionName: 'trackConversion', data: { string: '42' }, triggerMetadata: queueMetadata },
      {
        functionName: 'startAudits',
        data: { json: '{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}' },
      },
    ]);

    // Registration: one per catalog entry, with the host's binding conventions.
    expect(functions.map((fn) => fn.name).sort()).toEqual(catalog.map((fn) => fn.name).sort());
    const trigger = (name: string): Binding =>
      Object.values(functions.find((fn) => fn.name === name)!.bindings).find((b) => b.direction === 'in')!;
    for (const declaration of catalog) {
      const binding = trigger(declaration.name);
      if (declaration.trigger.type === 'storageQueue') {
        expect(binding).toMatchObject({ type: 'queueTrigger', connection: 'AzureWebJobsStorage' });
        expect(binding.queueName).toMatch(/^%STORAGE_PREFIX%-[a-z-]+$/);
      } else if (declaration.trigger.type === 'timer') {
        expect(binding.type).toBe('timerTrigger');
        expect(binding.schedule).toMatch(/^%[A-Z_]+%$/);
      } else if (declaration.trigger.type === 'eventGrid') {
        expect(binding.type).toBe('eventGridTrigger');
      } else {
        expect(binding).toMatchObject({ type: 'httpTrigger', route: declaration.trigger.route });
      }
    }

    const byName = (name: string): Invocation[] => invocations.filter((i) => i.functionName === name);
    const health = byName('health')[0]!;
    expect(health.ok, health.error).toBe(true);
    expect(health.response?.returnValue?.http?.statusCode).toMatch(/^(200|503)$/);
    const event = byName('onRegistryEvent')[0]!;
    expect(event.ok, event.error).toBe(true);
    // The event reached the handler as the parsed object: the product's own parser names it and why it refused it.
    expect(event.logs.join('\n')).toMatch(/event rejected: .*evt-foreign/s);
    const [junk, scalar] = byName('trackConversion');
    expect(junk!.ok, junk!.error).toBe(true);
    expect(junk!.logs.join('\n')).toMatch(/rejected/);
    // The library parses "42" into the number 42 (fromRpcTypedData); the handler refuses it, without failing.
    expect(scalar!.ok, scalar!.error).toBe(true);
    expect(scalar!.logs.join('\n')).toMatch(/rejected/);
    const timer = byName('startAudits')[0]!;
    expect(timer.ok, timer.error).toBe(true);
    expect(timer.logs.join('\n')).toMatch(/audit .* of sandbox started/);
  });
});
