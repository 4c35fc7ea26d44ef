import { describe, expect, it } from 'vitest';
import { catalog } from '../../../../functions/catalog.js';
import { isHttpFunction } from '../../../../lib/hosting/catalog.js';
import { openApiDocument } from '../../../../lib/http/openapi.js';

interface Document {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, unknown> };
}

describe('OpenAPI document', () => {
  const document = openApiDocument('1.2.3') as Document;
  const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
  );
  const served = catalog
    .filter(isHttpFunction)
    .flatMap((fn) => fn.trigger.methods.map((method) => `${method} /api/${fn.trigger.route.replace('{*', '{')}`));

  it('describes exactly the HTTP functions of the catalog, method by method', () => {
    expect([...documented].sort()).toEqual([...served].sort());
  });

  it('is OpenAPI 3.1 with the schemas the handlers validate with', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(['Policy', 'Conversion', 'Problem', 'PolicyResource', 'PolicyEvaluation']),
    );
    expect(JSON.stringify(document.components.schemas.Policy)).toContain('"maxImageSizeGiB"');
  });

  it('documents the problem responses of every write', () => {
    expect(Object.keys(document.paths['/api/registries/{registry}/policies/{scope}']!.put!.responses)).toEqual(
      expect.arrayContaining(['201', '400', '412', '428']),
    );
  });
});
