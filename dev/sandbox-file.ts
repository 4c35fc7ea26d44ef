import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `.sandbox/sandbox.json`: where everything in the running sandbox is, for scripts and people. The keys named
 * in the foundation issue are stable; others may be added.
 */
export interface SandboxFile {
  readonly host: {
    readonly url: string;
    readonly functionKey: string;
    readonly masterKey: string;
    readonly eventGridKey: string;
    /**
     * Value for an `x-ms-client-principal` header carrying the admin role; present only while the local host trusts
     * the header (LOCAL_HOST_TRUST_CLIENT_PRINCIPAL=true), since otherwise the host drops it.
     */
    readonly adminPrincipal?: string;
  };
  readonly storage: { readonly connectionString: string; readonly embedded: boolean; readonly location: string };
  readonly registries: ReadonlyArray<{
    readonly name: string;
    readonly loginServer: string;
    readonly httpsUrl: string;
    readonly pushAddress: string;
    readonly username: string;
    readonly password: string;
    readonly caFile: string;
  }>;
  readonly emulator: { readonly controlUrl: string; readonly managementUrl: string; readonly caFile: string };
}

export function writeSandboxFile(directory: string, sandbox: SandboxFile): string {
  const file = join(directory, 'sandbox.json');
  writeFileSync(file, `${JSON.stringify(sandbox, null, 2)}\n`, { mode: 0o600 });
  return file;
}

/** The `host` entry: its URL and keys, and the admin principal only when the host would pass it on. */
export function sandboxHost(
  host: Omit<SandboxFile['host'], 'adminPrincipal'>,
  trust: { readonly trusted: boolean },
): SandboxFile['host'] {
  return trust.trusted ? { ...host, adminPrincipal: sandboxAdminPrincipal() } : host;
}

/**
 * An App Service Authentication principal (base64 JSON, the platform's `x-ms-client-principal` format) for the
 * sandbox's administrator, with every app role, shaped as the platform sends one for a v2.0 user token: `role_typ`
 * the long role URI while the roles are typed `roles` (test/fixtures/app-service-principals.ts has the sources).
 */
export function sandboxAdminPrincipal(): string {
  const principal = {
    auth_typ: 'aad',
    name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
    role_typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
    claims: [
      {
        typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier',
        val: '00000000-0000-0000-0000-00000000ad01',
      },
      { typ: 'name', val: 'sandbox-admin@example.test' },
      { typ: 'preferred_username', val: 'sandbox-admin@example.test' },
      { typ: 'ver', val: '2.0' },
      { typ: 'roles', val: 'Streaming.Read' },
      { typ: 'roles', val: 'Streaming.Write' },
      { typ: 'roles', val: 'Streaming.Admin' },
    ],
  };
  return Buffer.from(JSON.stringify(principal)).toString('base64');
}
