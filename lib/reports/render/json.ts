import type { ComplianceReport } from '../model.js';

/** The report as stored and served: the schema itself, indented by two spaces, with a final newline. */
export function toJson(report: ComplianceReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
