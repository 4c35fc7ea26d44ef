import type { TestProject } from 'vitest/node';
import { startAzurite } from '../../dev/azurite.js';

declare module 'vitest' {
  export interface ProvidedContext {
    storageConnectionString: string;
  }
}

/** One real Azurite (in memory) per test run; tests isolate themselves with unique table/queue names. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const azurite = await startAzurite();
  project.provide('storageConnectionString', azurite.connectionString);
  return () => azurite.stop();
}
