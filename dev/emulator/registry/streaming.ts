import { z } from 'zod';
import type { EmulatorRequest, EmulatorResponse } from '../contract.js';
import type { RegistryRuntime } from '../state.js';
import { errors, OPERATION_UNKNOWN, RegistryError } from './errors.js';
import { repositoryScope, type RegistryRoute, type RegistryRouter } from './route.js';
import { isDigest } from './store.js';
import type { OperationView } from './streaming-service.js';

/**
 * Artifact-streaming REST API, byte-for-byte as test/fixtures/reference/acr-streaming-transcript.json (docs/sources.md
 * § ACR artifact streaming API). Scopes follow what the CLI requests: reads `pull`, writes `pull,push`.
 */

const ROUTES = {
  settings: /^\/acr\/v1\/(.+)\/_streaming$/,
  image: /^\/acr\/v1\/(.+)\/_streaming\/([^/]+)$/,
  cancel: /^\/acr\/v1\/(.+)\/_operations\/([^/]+):cancel$/,
  operation: /^\/acr\/v1\/(.+)\/_operations\/([^/:]+)$/,
};

const settingsSchema = z.object({
  convertPushedImages: z.boolean(),
  conversionFormat: z.literal('overlaybd').optional(),
  conversionVersion: z.literal('v1').optional(),
});
const createSchema = z.object({
  conversionFormat: z.literal('overlaybd').optional(),
  conversionVersion: z.literal('v1').optional(),
});

function jsonBody<T>(request: EmulatorRequest, schema: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = request.body.length === 0 ? {} : JSON.parse(request.body.toString('utf8'));
  } catch {
    throw new RegistryError(400, 'BAD_REQUEST', 'The request body is not valid JSON', null);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new RegistryError(
      400,
      'BAD_REQUEST',
      'The request body is invalid',
      parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    );
  return parsed.data;
}

function operationHeaders(runtime: RegistryRuntime, repository: string, id: string): Record<string, string> {
  const url = `https://${runtime.definition.loginServer}/acr/v1/${repository}/_operations/${id}`;
  return { location: url, 'operation-location': url, 'operation-id': id };
}

/** The operation document: no `id` (docs/sources.md § ACR artifact streaming API). */
function operationJson(op: OperationView, name = op.name): Record<string, string> {
  return {
    name,
    resource: op.resource,
    status: op.status,
    startTime: op.startTime,
    progress: op.progress,
    details: op.details,
  };
}

/**
 * Turning a repository's switch off may need more of the caller's roles than the token's `pull,push`
 * (`RegistryPermissions.switchOffActions`, docs/assumptions.md A12). A body that is not JSON is refused later (400).
 */
function switchRequirement(
  runtime: RegistryRuntime,
  request: EmulatorRequest,
  repository: string,
  requirement: RegistryRoute['requirement'],
): RegistryRoute['requirement'] {
  const extra = runtime.permissions.switchOffActions;
  if (extra.length === 0 || requirement.kind !== 'scope') return requirement;
  let turnsOff = false;
  try {
    turnsOff =
      (JSON.parse(request.body.toString('utf8')) as { convertPushedImages?: unknown }).convertPushedImages === false;
  } catch {
    return requirement;
  }
  return turnsOff ? { ...requirement, roles: { type: 'repository', name: repository, actions: extra } } : requirement;
}

const route = (requirement: RegistryRoute['requirement'], handle: RegistryRoute['handle']): RegistryRoute => ({
  requirement,
  handle,
});

export const streamingRouter: RegistryRouter = (runtime, request) => {
  const { method, path } = request;
  const { store, streaming } = runtime;
  // Which actions these endpoints require is not documented (docs/assumptions.md A7): configurable per registry.
  const read = (name: string): RegistryRoute['requirement'] =>
    repositoryScope(name, runtime.permissions.streamingActions.read);
  const write = (name: string): RegistryRoute['requirement'] =>
    repositoryScope(name, runtime.permissions.streamingActions.write);

  let m = ROUTES.settings.exec(path);
  if (m) {
    const name = m[1] ?? '';
    if (method === 'GET') {
      return route(read(name), (): EmulatorResponse => {
        const s = store.requireRepository(name).streaming;
        return {
          status: 200,
          body: {
            convertPushedImages: s.convertPushedImages,
            ...(s.conversionFormat === undefined ? {} : { conversionFormat: s.conversionFormat }),
            ...(s.conversionVersion === undefined ? {} : { conversionVersion: s.conversionVersion }),
          },
        };
      });
    }
    if (method === 'POST') {
      return route(switchRequirement(runtime, request, name, write(name)), (): EmulatorResponse => {
        streaming.assertRegistrySupportsStreaming();
        const body = jsonBody(request, settingsSchema);
        const repo = store.requireRepository(name);
        repo.streaming = {
          convertPushedImages: body.convertPushedImages,
          conversionFormat: body.conversionFormat,
          conversionVersion: body.conversionVersion,
        };
        const op = streaming.recordSettingsOperation(name);
        return {
          status: 202,
          headers: operationHeaders(runtime, name, op.id),
          body: {
            convertPushedImages: body.convertPushedImages,
            ...(body.conversionFormat === undefined ? {} : { conversionFormat: body.conversionFormat }),
            ...(body.conversionVersion === undefined ? {} : { conversionVersion: body.conversionVersion }),
            status: op.status,
            id: op.id,
          },
        };
      });
    }
    return undefined;
  }

  m = ROUTES.image.exec(path);
  if (m) {
    const name = m[1] ?? '';
    const digest = m[2] ?? '';
    if (method === 'GET') {
      return route(read(name), (): EmulatorResponse => {
        const op = streaming.latest(name, digest);
        if (!op) throw OPERATION_UNKNOWN();
        return { status: 200, headers: operationHeaders(runtime, name, op.id), body: { id: op.id, status: op.status } };
      });
    }
    if (method === 'POST') {
      return route(write(name), (): EmulatorResponse => {
        if (!isDigest(digest)) throw errors.digestInvalid(`${digest} is not a digest`);
        jsonBody(request, createSchema);
        const op = streaming.start(name, digest);
        return { status: 202, headers: operationHeaders(runtime, name, op.id), body: { id: op.id, status: op.status } };
      });
    }
    return undefined;
  }

  m = ROUTES.cancel.exec(path);
  if (m && method === 'POST') {
    const name = m[1] ?? '';
    const id = m[2] ?? '';
    return route(write(name), (): EmulatorResponse => {
      const op = streaming.cancel(name, id);
      if (!op) throw OPERATION_UNKNOWN();
      return { status: 200, body: operationJson(op, `Cancel: ${op.name}`) };
    });
  }

  m = ROUTES.operation.exec(path);
  if (m && method === 'GET') {
    const name = m[1] ?? '';
    const id = m[2] ?? '';
    return route(read(name), (): EmulatorResponse => {
      const op = streaming.get(name, id);
      if (!op) throw OPERATION_UNKNOWN();
      return { status: 200, body: operationJson(op) };
    });
  }
  return undefined;
};
