import type { HttpResponseInit } from '@azure/functions';
import type { HttpFunction } from '../lib/hosting/catalog.js';
import { openApiDocument } from '../lib/http/openapi.js';
import { appVersion } from '../lib/version.js';

let document: unknown;

/** The OpenAPI 3.1 document of this API (function key). */
export const openApi: HttpFunction = {
  name: 'openApi',
  trigger: { type: 'http', route: 'openapi.json', methods: ['GET'], authLevel: 'function' },
  handler: (): HttpResponseInit => {
    document ??= openApiDocument(appVersion());
    return { status: 200, jsonBody: document };
  },
};
