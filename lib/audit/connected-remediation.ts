/**
 * What to do about an unhealthy connected registry, from Microsoft's connected-registry troubleshooting guide
 * (docs/sources.md § Connected registry troubleshooting; the `stale` rule is the app's own).
 * Used by the connected-registry audit for its alerts and report; the placeholders are filled with real names.
 */
export type ConnectedRegistryProblem =
  'neverActivated' | 'offline' | 'stale' | 'unhealthy' | 'alreadyActivated' | 'unauthorized' | 'storage';

export interface ConnectedRegistryNames {
  readonly registry: string;
  readonly connectedRegistry: string;
  /** `schedule` / `syncWindow` of the parent's sync properties, when known. */
  readonly syncSchedule?: string;
  readonly syncWindow?: string;
}

export function connectedRegistryRemediation(problem: ConnectedRegistryProblem, names: ConnectedRegistryNames): string {
  const cr = names.connectedRegistry;
  const registry = names.registry;
  const logs = 'kubectl get pod -n connected-registry; kubectl logs -n connected-registry <connected-registry pod>';
  switch (problem) {
    case 'neverActivated':
      return `${cr} was never activated: no instance has connected with its connection string. Deploy the connected registry (Arc extension or IoT Edge module) with the connection string from az acr connected-registry get-settings --name ${cr} --registry ${registry} --parent-protocol https --generate-password 1, then check the pod with ${logs}.`;
    case 'offline':
      return `${cr} is offline: its instance does not reach ${registry}. Check the pod is running and its logs (${logs}); "Incorrect Password" (UNAUTHORIZED) means the connection string is bad — regenerate it with az acr connected-registry get-settings --name ${cr} --registry ${registry} --parent-protocol https --generate-password 1 and update the extension.`;
    case 'stale':
      return `${cr} has not synced with ${registry} for longer than its schedule allows${names.syncSchedule ? ` (schedule ${names.syncSchedule}${names.syncWindow ? `, window ${names.syncWindow}` : ''})` : ''}. Check the pod logs (${logs}), its network path to the parent's data endpoint, and that the sync window has not been shortened; raise the log level with az acr connected-registry update --registry ${registry} --name ${cr} --log-level debug while investigating.`;
    case 'unhealthy':
      return `${cr} reports problems (see its status details). Check the pod and its events: kubectl get events -n connected-registry --sort-by='.lastTimestamp'; ${logs}.`;
    case 'alreadyActivated':
      return `ALREADY_ACTIVATED: another instance already holds ${cr}'s activation; only one instance is supported at a time. Deactivate the old one with az acr connected-registry deactivate -n ${cr} -r ${registry}, then restart the new instance.`;
    case 'unauthorized':
      return `UNAUTHORIZED ("Incorrect Password"): ${cr}'s connection string is bad. Regenerate it with az acr connected-registry get-settings --name ${cr} --registry ${registry} --parent-protocol https --generate-password 1 --query ACR_REGISTRY_CONNECTION_STRING --output tsv --yes, put it in protected-settings-extension.json and update the extension.`;
    case 'storage':
      return `${cr}'s storage is not available: check its persistent volume claim (kubectl get pvc -n connected-registry -o yaml connected-registry-pvc) and that the storage class exists (kubectl get storageclass); recreate the extension with --config pvc.storageClassName=<class> or a larger --config pvc.storageRequest=250Gi if it ran out of space.`;
  }
}

/** Maps a status detail code reported by ARM (statusDetails[].code) to a known problem, when it is one. */
export function problemFromStatusCode(code: string): ConnectedRegistryProblem | undefined {
  const normalized = code.toUpperCase();
  if (normalized.includes('ALREADY_ACTIVATED')) return 'alreadyActivated';
  if (normalized.includes('UNAUTHORIZED') || normalized.includes('PASSWORD')) return 'unauthorized';
  if (normalized.includes('PVC') || normalized.includes('STORAGE') || normalized.includes('DISK')) return 'storage';
  return undefined;
}
