import { describe, expect, it } from 'vitest';
import { catalog } from '../../../functions/catalog.js';
import { registerCatalog, type FunctionsApp } from '../../../lib/hosting/catalog.js';

describe('function catalog', () => {
  it('registers every declaration with @azure/functions under its trigger kind', () => {
    const registered: Array<{ kind: string; name: string; options: unknown }> = [];
    const recorder: FunctionsApp = {
      http: (name, options) => registered.push({ kind: 'http', name, options }),
      eventGrid: (name, options) => registered.push({ kind: 'eventGrid', name, options }),
      storageQueue: (name, options) => registered.push({ kind: 'storageQueue', name, options }),
      timer: (name, options) => registered.push({ kind: 'timer', name, options }),
    };

    registerCatalog(recorder, catalog);

    expect(registered.map(({ name }) => name)).toEqual(catalog.map(({ name }) => name));
    expect(registered.find(({ name }) => name === 'health')).toMatchObject({
      kind: 'http',
      options: { route: 'health', methods: ['GET'], authLevel: 'anonymous' },
    });
    // Issue #17 §4: the details sit behind a function key (and Streaming.Read, checked by the route).
    expect(registered.find(({ name }) => name === 'healthDetails')).toMatchObject({
      kind: 'http',
      options: { route: 'health/details', methods: ['GET'], authLevel: 'function' },
    });
  });

  it('has unique function names (the host and Azure key functions by name)', () => {
    const names = catalog.map(({ name }) => name.toLowerCase());
    expect(new Set(names).size).toBe(names.length);
  });
});
