import { describe, expect, it } from 'vitest';
import { compareRoutes, compileRoute } from '../../../../dev/host/route-template.js';

const split = (path: string): string[] => path.split('/').filter(Boolean);

describe('compileRoute', () => {
  it('binds parameters and is case-insensitive on literals', () => {
    const route = compileRoute('registries/{registry}/conversions/{digest}');
    expect(route.match(split('Registries/sandbox/CONVERSIONS/sha256:abc'))).toEqual({
      registry: 'sandbox',
      digest: 'sha256:abc',
    });
    expect(route.match(split('registries/sandbox/conversions'))).toBeUndefined();
    expect(route.match(split('registries/sandbox/conversions/a/b'))).toBeUndefined();
  });

  it('lets a final catch-all take the rest of the path, slashes included', () => {
    const route = compileRoute('registries/{registry}/policies/{*scope}');
    expect(route.match(split('registries/r/policies/team-a/**'))).toEqual({ registry: 'r', scope: 'team-a/**' });
    expect(route.match(split('registries/r/policies'))).toEqual({ registry: 'r' });
  });

  it('supports optional parameters and constraints', () => {
    expect(compileRoute('items/{id:int}').match(split('items/42'))).toEqual({ id: '42' });
    expect(compileRoute('items/{id:int}').match(split('items/x'))).toBeUndefined();
    expect(compileRoute('reports/{format?}').match(split('reports'))).toEqual({});
  });

  it('refuses a catch-all that is not last', () => {
    expect(() => compileRoute('a/{*rest}/b')).toThrow(/last segment/);
  });

  it('orders literal before parameter before catch-all, as ASP.NET routing does', () => {
    const list = compileRoute('registries/{registry}/policies');
    const one = compileRoute('registries/{registry}/policies/{*scope}');
    const literal = compileRoute('registries/sandbox/policies');

    expect([one, list, literal].sort(compareRoutes).map((route) => route.template)).toEqual([
      'registries/sandbox/policies',
      'registries/{registry}/policies',
      'registries/{registry}/policies/{*scope}',
    ]);
  });
});
