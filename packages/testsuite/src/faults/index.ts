export {
  runFaultCampaign,
  type FaultCampaignOptions,
  type FaultCampaignResult,
  type TrialKind,
  type TrialOutcome,
  type TrialRecord,
  type TrialSummary,
} from './campaign.js';
export { testFaultCampaign, type TestFaultCampaignOptions } from './jest.js';
export { selfSignedCertificate } from './certificate.js';
export {
  FaultProxy,
  type ErrorResponder,
  type FaultAction,
  type FaultProxyOptions,
  type InjectOptions,
  type Injection,
  type ProxiedRequest,
  type RequestView,
  type ServiceErrorResponse,
} from './proxy.js';
export { FaultSchedule, mulberry32, type Fault, type FaultKind, type ScheduleOptions } from './schedule.js';
export { serviceErrors } from './service-errors.js';
