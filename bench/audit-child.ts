import { fork } from 'node:child_process';
import { TableClient } from '@azure/data-tables';
import type { StartedRegistry } from '../dev/emulator/server.js';
import type { AuditRunResult, AuditRunTarget } from './audit-run.js';

/** Creates the audit's tables under a prefix and says how a child run reaches them and the emulated registry. */
export async function auditTarget(
  registry: StartedRegistry,
  storageConnectionString: string,
  tablePrefix: string,
): Promise<AuditRunTarget> {
  await Promise.all(
    ['Audits', 'Conversions', 'Outbox'].map((name) =>
      TableClient.fromConnectionString(storageConnectionString, `${tablePrefix}${name}`, {
        allowInsecureConnection: true,
      }).createTable(),
    ),
  );
  return {
    loginServer: registry.loginServer,
    username: registry.username!,
    password: registry.password!,
    caFile: registry.caFile,
    storageConnectionString,
    tablePrefix,
  };
}

/** One audit run in a child process of its own (bench/audit-run.ts), so its peak RSS is the audit's alone. */
export function auditInChild(target: AuditRunTarget): Promise<AuditRunResult> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./audit-run.ts', import.meta.url), [], {
      env: { ...process.env, AUDIT_RUN: JSON.stringify(target) },
      execArgv: ['--import', 'tsx'],
    });
    let result: AuditRunResult | undefined;
    child.on('message', (message) => (result = message as AuditRunResult));
    child.on('error', reject);
    child.on('exit', (code) =>
      result && code === 0 ? resolve(result) : reject(new Error(`audit run exited with ${code}`)),
    );
  });
}
