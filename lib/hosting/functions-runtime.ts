// @azure/functions is a webpack-bundled CommonJS file whose named exports Node's ESM loader cannot detect, so
// `import { app } from '@azure/functions'` fails at run time in an ESM app. Values come through the default
// export here; types can still be imported from '@azure/functions' directly with `import type`.
import functions from '@azure/functions';

export const { app, HttpRequest, HttpResponse, InvocationContext } = functions;
