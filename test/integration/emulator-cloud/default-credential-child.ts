/**
 * Runs in a forked process so its environment (AZURE_*, NODE_EXTRA_CA_CERTS, HTTPS_PROXY) is set before any module
 * loads — exactly like the product in a Functions host. Uses DefaultAzureCredential with no options.
 */
import { DefaultAzureCredential } from '@azure/identity';

async function main(): Promise<void> {
  try {
    const token = await new DefaultAzureCredential().getToken('https://management.azure.com/.default');
    process.send?.({ token: token.token });
  } catch (error) {
    process.send?.({ error: error instanceof Error ? error.message : String(error) });
  }
}

await main();
