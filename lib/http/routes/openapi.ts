import { appVersion } from '../../version.js';
import { openApiDocument } from '../openapi.js';
import type { HttpRoute } from '../route.js';

let document: unknown;

/** `GET openapi.json`: the OpenAPI 3.1 document, generated once from the routes' schemas. */
export const openApiRoute: HttpRoute<unknown> = () => {
  document ??= openApiDocument(appVersion());
  return Promise.resolve({ status: 200, jsonBody: document });
};
