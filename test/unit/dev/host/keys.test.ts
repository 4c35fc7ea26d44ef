import { describe, expect, it } from 'vitest';
import { checkKey, presentedKey } from '../../../../dev/host/keys.js';

const keys = { functionKeys: ['fn-key'], masterKey: 'master-key', eventGridKey: 'eg-key' };

describe('host keys', () => {
  it('function level accepts a function key or the master key', () => {
    expect(checkKey('function', 'fn-key', keys)).toBe('ok');
    expect(checkKey('function', 'master-key', keys)).toBe('ok');
    expect(checkKey('function', 'eg-key', keys)).toBe('invalid');
    expect(checkKey('function', undefined, keys)).toBe('missing');
  });

  it('admin level needs the master key; the Event Grid webhook its system key', () => {
    expect(checkKey('admin', 'fn-key', keys)).toBe('invalid');
    expect(checkKey('admin', 'master-key', keys)).toBe('ok');
    expect(checkKey('system', 'eg-key', keys)).toBe('ok');
    expect(checkKey('system', 'fn-key', keys)).toBe('invalid');
    expect(checkKey('anonymous', undefined, keys)).toBe('ok');
  });

  it('reads the x-functions-key header before the code query parameter', () => {
    expect(presentedKey({ 'x-functions-key': 'a' }, new URLSearchParams('code=b'))).toBe('a');
    expect(presentedKey({}, new URLSearchParams('code=b'))).toBe('b');
    expect(presentedKey({}, new URLSearchParams())).toBeUndefined();
  });
});
