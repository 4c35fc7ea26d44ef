import type { FunctionDeclaration } from '../lib/hosting/catalog.js';
import { auditConnectedRegistries } from './auditConnectedRegistries.js';
import { auditConsumers } from './auditConsumers.js';
import { auditImages } from './auditImages.js';
import { cancelConversion } from './cancelConversion.js';
import { createAudit } from './createAudit.js';
import { createReport } from './createReport.js';
import { deletePolicy } from './deletePolicy.js';
import { dispatchAlerts } from './dispatchAlerts.js';
import { evaluatePolicy } from './evaluatePolicy.js';
import { generateReport } from './generateReport.js';
import { getLatestReport } from './getLatestReport.js';
import { getReport } from './getReport.js';
import { getPolicy } from './getPolicy.js';
import { getPolicyHistory } from './getPolicyHistory.js';
import { listPolicies } from './listPolicies.js';
import { listReports } from './listReports.js';
import { patchPolicy } from './patchPolicy.js';
import { putPolicy } from './putPolicy.js';
import { relayAlerts } from './relayAlerts.js';
import { resendAlert } from './resendAlert.js';
import { runBackfill } from './runBackfill.js';
import { startAudits } from './startAudits.js';
import { getConversion } from './getConversion.js';
import { getDiagnosis } from './getDiagnosis.js';
import { health } from './health.js';
import { healthDetails } from './healthDetails.js';
import { listAlerts } from './listAlerts.js';
import { listAudits } from './listAudits.js';
import { listConversions } from './listConversions.js';
import { onRegistryEvent } from './onRegistryEvent.js';
import { openApi } from './openApi.js';
import { startConversion } from './startConversion.js';
import { sweepConversions } from './sweepConversions.js';
import { trackConversion } from './trackConversion.js';

/** Every function of the app. Registered for Azure by index.ts; served locally by dev/host. */
export const catalog: readonly FunctionDeclaration[] = [
  health,
  healthDetails,
  onRegistryEvent,
  trackConversion,
  sweepConversions,
  startConversion,
  listConversions,
  getConversion,
  cancelConversion,
  listPolicies,
  getPolicy,
  putPolicy,
  patchPolicy,
  deletePolicy,
  getPolicyHistory,
  evaluatePolicy,
  openApi,
  dispatchAlerts,
  relayAlerts,
  listAlerts,
  resendAlert,
  runBackfill,
  startAudits,
  auditImages,
  auditConnectedRegistries,
  auditConsumers,
  createAudit,
  listAudits,
  generateReport,
  createReport,
  listReports,
  getLatestReport,
  getReport,
  getDiagnosis,
];
