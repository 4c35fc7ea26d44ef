/**
 * Reachability of a registry's data plane: `GET /v2/` answers 401 (challenge) or 200 when the registry is up and
 * reachable; a firewalled registry answers 403. Used by the health probes only — it sends no credentials.
 */
export async function probeRegistry(loginServer: string, timeoutMs = 5_000): Promise<void> {
  const response = await fetch(`https://${loginServer}/v2/`, { signal: AbortSignal.timeout(timeoutMs) });
  await response.body?.cancel();
  if (response.status !== 200 && response.status !== 401) {
    throw new Error(
      `GET /v2/ answered ${response.status}${response.status === 403 ? ' (network rules or firewall deny this app)' : ''}`,
    );
  }
}
