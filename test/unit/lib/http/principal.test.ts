import type { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { sandboxAdminPrincipal } from '../../../../dev/sandbox-file.js';
import { ForbiddenError, UnauthorizedError } from '../../../../lib/core/errors.js';
import { HttpRequest as RuntimeHttpRequest } from '../../../../lib/hosting/functions-runtime.js';
import { appRoles, hasRole, isAdmin, type AppRole, type Principal } from '../../../../lib/core/principal.js';
import { principalOf, requirePrincipal } from '../../../../lib/http/principal.js';
import {
  adminPrincipal,
  clientPrincipal,
  nameClaim,
  objectIdClaim,
  principalIds,
  readerPrincipal,
  writerPrincipal,
} from '../../../support/principals.js';
import {
  appOnlyV2,
  encodePrincipal,
  objectIdClaimUri,
  roleClaimUri,
  userV1,
  userV2,
  type ClientPrincipalPayload,
} from '../../../fixtures/app-service-principals.js';

function request(principal?: string): HttpRequest {
  return new RuntimeHttpRequest({
    method: 'GET',
    url: 'http://127.0.0.1/api/registries/sandbox/policies',
    headers: principal === undefined ? {} : { 'x-ms-client-principal': principal },
  });
}

const encode = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');

function held(principal: Principal): AppRole[] {
  return appRoles.filter((role) => hasRole(principal, role));
}

describe('principalOf: principals shaped as App Service Authentication sends them (issue #16)', () => {
  it.each([
    [
      'a user with a v2.0 token (roles typed `roles`, role_typ the long URI)',
      userV2,
      {
        id: '11111111-2222-3333-4444-555555555555',
        name: 'Ada Lovelace',
        roles: new Set(['Streaming.Read', 'Streaming.Write']),
      },
    ],
    [
      'an app-only (client credentials) v2.0 token: no name',
      appOnlyV2,
      {
        id: '99999999-8888-7777-6666-555555555555',
        name: undefined,
        roles: new Set(['Streaming.Admin']),
      },
    ],
    [
      'a user with a v1.0 token (roles under the mapped URI)',
      userV1,
      {
        id: '22222222-3333-4444-5555-666666666666',
        name: 'Grace Hopper',
        roles: new Set(['Streaming.Admin']),
      },
    ],
  ] as const)('reads %s', (_name, payload, expected) => {
    expect(principalOf(request(encodePrincipal(payload)))).toEqual(expected);
  });

  it('takes the name from preferred_username when the token has no name claim', () => {
    const payload = { ...userV2, claims: userV2.claims.filter((claim) => claim.typ !== 'name') };
    expect(principalOf(request(encodePrincipal(payload)))?.name).toBe('ada@contoso.example');
  });

  it("the sandbox's admin principal and the test principals have the platform's shape", () => {
    for (const header of [sandboxAdminPrincipal(), readerPrincipal(), writerPrincipal(), adminPrincipal()]) {
      const decoded = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as ClientPrincipalPayload;
      expect(decoded.role_typ).toBe(roleClaimUri);
      expect(decoded.claims.some((claim) => claim.typ === 'roles')).toBe(true);
      expect(decoded.claims.some((claim) => claim.typ === objectIdClaimUri)).toBe(true);
    }
  });
});

describe('principalOf', () => {
  it('reads the object id, name and roles of an App Service Authentication principal', () => {
    const principal = principalOf(request(sandboxAdminPrincipal()));

    expect(principal).toEqual({
      id: '00000000-0000-0000-0000-00000000ad01',
      name: 'sandbox-admin@example.test',
      roles: new Set(appRoles),
    });
  });

  it('reads the short oid claim too', () => {
    const principal = principalOf(
      request(
        encode({
          auth_typ: 'aad',
          claims: [
            { typ: 'oid', val: 'abc' },
            { typ: 'roles', val: 'Streaming.Read' },
          ],
        }),
      ),
    );

    expect(principal).toEqual({ id: 'abc', name: undefined, roles: new Set(['Streaming.Read']) });
  });

  it('falls back to the name when there is no object id', () => {
    const principal = principalOf(request(clientPrincipal({ name: 'ci@example.test', roles: ['Streaming.Write'] })));

    expect(principal).toMatchObject({ id: 'ci@example.test', name: 'ci@example.test' });
  });

  it('honours name_typ and role_typ besides the claim types tokens use, and defaults them to name and roles', () => {
    const custom = encode({
      name_typ: 'upn',
      role_typ: 'r',
      claims: [
        { typ: 'upn', val: 'u@x' },
        { typ: 'r', val: 'Streaming.Admin' },
        { typ: 'roles', val: 'Streaming.Read' },
      ],
    });
    const defaults = encode({
      claims: [
        { typ: 'name', val: 'n@x' },
        { typ: 'roles', val: 'Streaming.Write' },
      ],
    });

    expect(principalOf(request(custom))).toEqual({
      id: 'u@x',
      name: 'u@x',
      roles: new Set(['Streaming.Admin', 'Streaming.Read']),
    });
    expect(principalOf(request(defaults))).toEqual({ id: 'n@x', name: 'n@x', roles: new Set(['Streaming.Write']) });
  });

  it("keeps only the app's roles, and only string claim values", () => {
    const principal = principalOf(
      request(
        encode({
          role_typ: 'roles',
          claims: [
            { typ: objectIdClaim, val: 'id-1' },
            { typ: 'roles', val: 'Owner' },
            { typ: 'roles', val: 'streaming.admin' },
            { typ: 'roles', val: ['Streaming.Admin'] },
            { typ: 'roles', val: 'Streaming.Read' },
            null,
            7,
          ],
        }),
      ),
    );

    expect(principal).toEqual({ id: 'id-1', name: undefined, roles: new Set(['Streaming.Read']) });
  });

  it('builds the test principals the e2e tests send', () => {
    expect(principalOf(request(readerPrincipal()))).toMatchObject({
      id: principalIds.reader,
      roles: new Set(['Streaming.Read']),
    });
    expect(principalOf(request(writerPrincipal('w-9', 'w9@x')))).toEqual({
      id: 'w-9',
      name: 'w9@x',
      roles: new Set(['Streaming.Write']),
    });
    expect(principalOf(request(adminPrincipal()))).toMatchObject({
      id: principalIds.admin,
      roles: new Set(['Streaming.Admin']),
    });
  });

  it.each<[string, string | undefined]>([
    ['no header', undefined],
    ['an empty header', ''],
    ['text that is not base64 JSON', 'not a principal!'],
    ['base64 of text that is not JSON', encode('{"claims": [')],
    ['JSON null', encode('null')],
    ['a JSON string', encode('"Streaming.Admin"')],
    ['claims that are not an array', encode({ claims: { typ: 'roles', val: 'Streaming.Admin' } })],
    ['no claims', encode({ auth_typ: 'aad' })],
    ['roles but neither an object id nor a name', encode({ claims: [{ typ: 'roles', val: 'Streaming.Admin' }] })],
    [
      'a non-string object id and name',
      encode({
        claims: [
          { typ: objectIdClaim, val: 1 },
          { typ: nameClaim, val: {} },
          { typ: 'roles', val: 'Streaming.Admin' },
        ],
      }),
    ],
    ['a header over 16 KiB', clientPrincipal({ objectId: 'x', name: 'y'.repeat(13_000), roles: ['Streaming.Admin'] })],
  ])('has no principal with %s', (_case, header) => {
    expect(principalOf(request(header))).toBeUndefined();
  });
});

describe('roles', () => {
  it.each<[string, AppRole[], AppRole[]]>([
    ['Read', ['Streaming.Read'], ['Streaming.Read']],
    ['Write', ['Streaming.Write'], ['Streaming.Read', 'Streaming.Write']],
    ['Admin', ['Streaming.Admin'], ['Streaming.Read', 'Streaming.Write', 'Streaming.Admin']],
    ['Read and Admin', ['Streaming.Read', 'Streaming.Admin'], ['Streaming.Read', 'Streaming.Write', 'Streaming.Admin']],
    ['none', [], []],
  ])('a caller holding %s has the roles it implies', (_case, roles, implied) => {
    expect(held({ id: 'x', name: undefined, roles: new Set(roles) })).toEqual(implied);
  });

  it('counts only a held Admin role as admin, never an implied one', () => {
    expect(isAdmin({ id: 'x', name: undefined, roles: new Set(['Streaming.Admin']) })).toBe(true);
    expect(isAdmin({ id: 'x', name: undefined, roles: new Set(['Streaming.Read', 'Streaming.Write']) })).toBe(false);
  });
});

describe('requirePrincipal', () => {
  it('returns the caller when it has the role or a higher one', () => {
    expect(requirePrincipal(request(adminPrincipal()), 'Streaming.Write').id).toBe(principalIds.admin);
    expect(requirePrincipal(request(writerPrincipal()), 'Streaming.Read').id).toBe(principalIds.writer);
  });

  it('is 401 without an identity, naming the header', () => {
    const failure = (): Principal => requirePrincipal(request('garbage'), 'Streaming.Read');

    expect(failure).toThrow(UnauthorizedError);
    try {
      failure();
    } catch (error) {
      expect(error).toMatchObject({
        status: 401,
        problems: [{ field: 'headers.x-ms-client-principal', reason: 'missing or invalid' }],
      });
    }
  });

  it('is 403 without the role, naming the role that is missing', () => {
    const failure = (): Principal => requirePrincipal(request(readerPrincipal()), 'Streaming.Write');

    expect(failure).toThrow(ForbiddenError);
    expect(failure).toThrow(/lacks the app role Streaming\.Write/);
    try {
      failure();
    } catch (error) {
      expect(error).toMatchObject({ status: 403, problems: [{ field: 'roles', reason: 'requires Streaming.Write' }] });
    }
  });

  it('is 403 for a signed-in caller without any app role', () => {
    expect(() =>
      requirePrincipal(request(clientPrincipal({ objectId: 'nobody', roles: [] })), 'Streaming.Read'),
    ).toThrow(/Streaming\.Read/);
  });
});
