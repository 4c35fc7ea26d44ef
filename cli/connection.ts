import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from './errors.js';

/** Where the API is and what it needs to know who calls. */
export interface TargetOptions {
  readonly url?: string;
  readonly key?: string;
  readonly audience?: string;
  readonly sandboxFile?: string;
}

export type Environment = Readonly<Record<string, string | undefined>>;

export interface Connection {
  /** The app's address without `/api`, e.g. `https://myapp.azurewebsites.net`. */
  readonly baseUrl: string;
  readonly kind: 'sandbox' | 'azure';
  /** The registry commands use when none is given: the sandbox's only registry. */
  readonly defaultRegistry?: string;
  /** The headers that authenticate a request; values are secrets and are never printed. */
  headers(): Promise<Record<string, string>>;
}

/** Gets an access token for a scope; production uses DefaultAzureCredential, tests pass their own. */
export type TokenSource = (scope: string) => Promise<string>;

/**
 * Chooses the target, flags before environment: `--sandbox-file`, `--url`, ACR_STREAMING_SANDBOX_FILE,
 * ACR_STREAMING_URL, then `.sandbox/sandbox.json` in this folder or a parent (the repo's `npm start` writes it), so
 * the sandbox needs no configuration at all.
 */
export function resolveConnection(
  options: TargetOptions,
  env: Environment,
  cwd: string,
  tokenSource: TokenSource = defaultAzureToken,
): Connection {
  if (options.sandboxFile !== undefined) return sandboxConnection(resolve(cwd, options.sandboxFile));
  if (options.url !== undefined) return azureConnection(options.url, options, env, tokenSource);
  if (env.ACR_STREAMING_SANDBOX_FILE) return sandboxConnection(resolve(cwd, env.ACR_STREAMING_SANDBOX_FILE));
  if (env.ACR_STREAMING_URL) return azureConnection(env.ACR_STREAMING_URL, options, env, tokenSource);
  const found = findUp(cwd, join('.sandbox', 'sandbox.json'));
  if (found !== undefined) return sandboxConnection(found);
  throw new UsageError(
    'Nothing says where the API is: set ACR_STREAMING_URL (or --url) to the function app, or run `npm start` in ' +
      'the repository for a sandbox (.sandbox/sandbox.json), or point --sandbox-file at one.',
  );
}

function findUp(start: string, relative: string): string | undefined {
  for (let folder = resolve(start); ; folder = dirname(folder)) {
    const candidate = join(folder, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(folder) === folder) return undefined;
  }
}

export function apiBase(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`"${url}" is not a URL (e.g. https://myapp.azurewebsites.net).`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new UsageError(`"${url}" is not an http(s) URL.`);
  // People paste the URL with or without /api; requests add it.
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '').replace(/\/api$/, '')}`;
}

/**
 * The scope App Service Authentication's audience answers to, as in `az account get-access-token --resource
 * api://<client id>` (docs/operations.md): a bare client id becomes `api://<id>/.default`.
 */
export function tokenScope(audience: string): string {
  if (audience.endsWith('/.default')) return audience;
  return `${audience.includes('://') ? audience : `api://${audience}`}/.default`;
}

function azureConnection(url: string, options: TargetOptions, env: Environment, tokens: TokenSource): Connection {
  const baseUrl = apiBase(url);
  const key = options.key ?? env.ACR_STREAMING_FUNCTION_KEY;
  if (!key)
    throw new UsageError(
      'No function key: set ACR_STREAMING_FUNCTION_KEY (az functionapp keys list -g <rg> -n <app> --query ' +
        'functionKeys.default -o tsv) or pass --key.',
    );
  const audience = options.audience ?? env.ACR_STREAMING_AUDIENCE;
  if (!audience)
    throw new UsageError(
      "No audience for the Entra token: set ACR_STREAMING_AUDIENCE (or --audience) to the app registration's " +
        'client id (azd env get-value AUTH_CLIENT_ID).',
    );
  const scope = tokenScope(audience);
  let token: Promise<string> | undefined;
  return {
    baseUrl,
    kind: 'azure',
    ...(env.ACR_STREAMING_REGISTRY ? { defaultRegistry: env.ACR_STREAMING_REGISTRY } : {}),
    // One token per run: a command makes several requests, and --wait polls well within a token's hour.
    headers: async () => ({ 'x-functions-key': key, authorization: `Bearer ${await (token ??= tokens(scope))}` }),
  };
}

/** Imported lazily: the sandbox never loads @azure/identity, and `--help` stays fast. */
export async function defaultAzureToken(scope: string): Promise<string> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  try {
    const token = await new DefaultAzureCredential().getToken(scope);
    return token.token;
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
    throw new UsageError(
      `Could not get an Entra token for ${scope}: ${reason}\nSign in with \`az login\` (or set AZURE_CLIENT_ID, ` +
        'AZURE_TENANT_ID and a secret or certificate for a service principal, or use a managed identity).',
    );
  }
}

interface SandboxFileShape {
  readonly host?: { readonly url?: unknown; readonly functionKey?: unknown; readonly adminPrincipal?: unknown };
  readonly registries?: ReadonlyArray<{ readonly name?: unknown }>;
}

/**
 * The sandbox's `.sandbox/sandbox.json`, read as plain JSON (the CLI does not import dev/): the host URL, its
 * function key and the admin principal the local host trusts in sandbox mode.
 */
function sandboxConnection(file: string): Connection {
  let parsed: SandboxFileShape;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as SandboxFileShape;
  } catch (error) {
    throw new UsageError(`Cannot read the sandbox file ${file}: ${(error as Error).message}`);
  }
  const { url, functionKey, adminPrincipal } = parsed.host ?? {};
  if (typeof url !== 'string' || typeof functionKey !== 'string')
    throw new UsageError(`${file} has no host.url and host.functionKey: is it a sandbox.json written by npm start?`);
  if (typeof adminPrincipal !== 'string')
    throw new UsageError(
      `${file} has no host.adminPrincipal: the local host does not trust x-ms-client-principal ` +
        '(LOCAL_HOST_TRUST_CLIENT_PRINCIPAL is not "true"), so no request could carry an identity.',
    );
  const names = (parsed.registries ?? []).map((registry) => registry.name).filter((name) => typeof name === 'string');
  return {
    baseUrl: apiBase(url),
    kind: 'sandbox',
    ...(names.length === 1 ? { defaultRegistry: names[0] } : {}),
    headers: () => Promise.resolve({ 'x-functions-key': functionKey, 'x-ms-client-principal': adminPrincipal }),
  };
}
