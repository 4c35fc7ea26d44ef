import type { FunctionDeclaration } from '../lib/hosting/catalog.js';
import { health } from './health.js';

/** Every function of the app. Registered for Azure by index.ts; served locally by dev/host. */
export const catalog: readonly FunctionDeclaration[] = [health];
