import { app } from '../lib/hosting/functions-runtime.js';
import { registerCatalog } from '../lib/hosting/catalog.js';
import { catalog } from './catalog.js';

// The Functions worker loads this entry point (package.json "main"); registration is all that runs here.
registerCatalog(app, catalog);
