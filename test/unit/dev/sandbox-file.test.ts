import { describe, expect, it } from 'vitest';
import { sandboxAdminPrincipal, sandboxHost } from '../../../dev/sandbox-file.js';

describe('sandbox.json host entry', () => {
  const keys = { url: 'http://127.0.0.1:7071', functionKey: 'f', masterKey: 'm', eventGridKey: 'e' };

  it('carries the admin principal when the host trusts x-ms-client-principal', () => {
    expect(sandboxHost(keys, { trusted: true })).toEqual({ ...keys, adminPrincipal: sandboxAdminPrincipal() });
  });

  it('omits it when the host drops the header, since sending it would change nothing', () => {
    expect(sandboxHost(keys, { trusted: false })).toEqual(keys);
  });
});
