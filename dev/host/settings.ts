import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostKeys } from './keys.js';

export interface LocalSettings {
  /** `Values`: app settings, applied under existing environment variables (which win, as with `func start`). */
  readonly values: Record<string, string>;
  readonly localHttpPort: number | undefined;
}

/** Reads local.settings.json when present; a missing file is an empty one. */
export function readLocalSettings(directory: string): LocalSettings {
  const file = join(directory, 'local.settings.json');
  if (!existsSync(file)) return { values: {}, localHttpPort: undefined };
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as {
    Values?: Record<string, unknown>;
    Host?: { LocalHttpPort?: unknown };
  };
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed.Values ?? {})) {
    if (typeof value !== 'string') throw new Error(`local.settings.json: Values.${name} must be a string`);
    values[name] = value;
  }
  const port = parsed.Host?.LocalHttpPort;
  return { values, localHttpPort: typeof port === 'number' ? port : undefined };
}

/** Host settings of the local host only (in Azure the platform holds the keys); never app settings. */
/** Host setting that makes the local host trust caller-supplied x-ms-client-principal headers (sandbox only). */
export const trustClientPrincipalSetting = 'LOCAL_HOST_TRUST_CLIENT_PRINCIPAL';

/** Whether the local host passes caller-supplied x-ms-client-principal on; `ignored` names a value it refused. */
export interface ClientPrincipalTrust {
  readonly trusted: boolean;
  readonly ignored?: string;
}

/**
 * Reads {@link trustClientPrincipalSetting}: exactly `true` trusts; unset or `false` does not. Any other value (`TRUE`,
 * `1`, `yes`) does not either — failing closed, since trusting lets any caller act as anyone — and is reported in
 * `ignored` so the host can say why the header is still dropped.
 */
export function clientPrincipalTrust(env: Readonly<Record<string, string | undefined>>): ClientPrincipalTrust {
  const value = env[trustClientPrincipalSetting];
  if (value === 'true') return { trusted: true };
  if (value === undefined || value === '' || value === 'false') return { trusted: false };
  return {
    trusted: false,
    ignored: `${trustClientPrincipalSetting}=${JSON.stringify(value)} ignored: only "true" trusts x-ms-client-principal`,
  };
}

export const hostKeySettings = {
  functionKey: 'LOCAL_HOST_FUNCTION_KEY',
  masterKey: 'LOCAL_HOST_MASTER_KEY',
  eventGridKey: 'LOCAL_HOST_EVENTGRID_KEY',
} as const;

export function generateKey(): string {
  return randomBytes(30).toString('base64url');
}

/** Keys from the environment; any that is missing is generated for this run. */
export function hostKeysFrom(env: Readonly<Record<string, string | undefined>>): HostKeys & { generated: string[] } {
  const generated: string[] = [];
  const pick = (name: string): string => {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    generated.push(name);
    return generateKey();
  };
  return {
    functionKeys: [pick(hostKeySettings.functionKey)],
    masterKey: pick(hostKeySettings.masterKey),
    eventGridKey: pick(hostKeySettings.eventGridKey),
    generated,
  };
}
