// Activity proxies, one per kind of work, each with a retry policy chosen on purpose.
//
// | kind                 | start-to-close | heartbeat | retry                                   |
// |----------------------|----------------|-----------|-----------------------------------------|
// | observe, getPool     | 2 min          | -         | 1s → ×2 → 15s, unlimited                |
// | createVm             | 15 min         | 20 s      | 1s → ×2 → 15s, unlimited                |
// | associate, detach    | 5 min          | 20 s      | 1s → ×2 → 15s, unlimited                |
// | deleteServer         | 15 min         | 20 s      | 1s → ×2 → 15s, unlimited                |
// | enactChain(s)        | 15 min         | 20 s      | 1s → ×2 → 15s, unlimited                |
// | releaseQuota         | 1 min          | -         | 1s → ×2 → 10s, unlimited (waits for gone)|
// | instanceAction       | 2 min          | -         | 1s → ×2 → 15s, 10 attempts              |
// | tidy (after cancel)  | 2 min          | 20 s      | 1s → ×2 → 4s, 4 attempts                |
//
// Unlimited retries are deliberate: a region outage or a killed worker must delay an operation, not
// fail it. What can never succeed (quota exceeded, unknown image, invalid input, bad credentials,
// no storage) is raised by the activities as a non-retryable ApplicationFailure with one of the types
// below, and fails the step at once. Heartbeat timeouts make a killed worker's activity visible in 20 s.
// A step's activity is cancelled only when a stopped operation abandons it mid-retry (transport.ts);
// the workflow then waits for the worker's answer, so a step that finished anyway is known done.
import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { ConvergeActivities, WorkerSettingsActivity } from '../domain/activities';
import { NON_RETRYABLE } from '../domain/activities';

const nonRetryableErrorTypes = Object.values(NON_RETRYABLE);

/** `maximumAttempts` omitted means unlimited. */
const retry = (maximumInterval: `${number}s`, maximumAttempts?: number) => ({
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval,
  ...(maximumAttempts ? { maximumAttempts } : {}),
  nonRetryableErrorTypes,
});

export const READ_OPTIONS: ActivityOptions = { startToCloseTimeout: '2 minutes', retry: retry('15s') };
const cancellationType = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;
export const BUILD_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '20s',
  retry: retry('15s'),
  cancellationType,
};
export const ATTACH_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '20s',
  retry: retry('15s'),
  cancellationType,
};
export const QUOTA_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: retry('10s'),
  cancellationType,
};
/**
 * The tidy-up after a cancel (cleanup.ts sweeping an abandoned create; the closing read): a few tries
 * (1+2+4 s of backoff), then it gives up and leaves the rest to the next plan, so a cancel during an
 * outage still ends.
 */
export const TIDY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '20s',
  retry: retry('4s', 4),
};
export const ACTION_OPTIONS: ActivityOptions = { startToCloseTimeout: '2 minutes', retry: retry('15s', 10) };

export const reads = proxyActivities<Pick<ConvergeActivities, 'observe' | 'getPool'>>(READ_OPTIONS);
export const builds =
  proxyActivities<Pick<ConvergeActivities, 'createVm' | 'createVms' | 'deleteServer'>>(BUILD_OPTIONS);
/** A chain (or a batch of them) waits as long as the delete it may contain: the delete's options. */
export const chains = proxyActivities<Pick<ConvergeActivities, 'enactChain' | 'enactChains'>>(BUILD_OPTIONS);
export const attachments =
  proxyActivities<Pick<ConvergeActivities, 'associateVmToInstance' | 'detachDisk' | 'deleteDisk'>>(
    ATTACH_OPTIONS,
  );
export const quota = proxyActivities<Pick<ConvergeActivities, 'releaseQuota'>>(QUOTA_OPTIONS);
export const actions = proxyActivities<Pick<ConvergeActivities, 'instanceAction'>>(ACTION_OPTIONS);
export const settings = proxyActivities<WorkerSettingsActivity>(READ_OPTIONS);
export const tidy =
  proxyActivities<Pick<ConvergeActivities, 'observe' | 'deleteServer' | 'releaseQuota'>>(TIDY_OPTIONS);

type Cheap = Pick<ConvergeActivities, 'associateVmToInstance' | 'detachDisk' | 'deleteDisk' | 'releaseQuota'>;

/** Each cheap step (a few cloud calls, no waiting), called with the summary the UI shows for it. */
export type CheapSteps = {
  [K in keyof Cheap]: (summary: string, input: Parameters<Cheap[K]>[0]) => ReturnType<Cheap[K]>;
};

/**
 * The cheap steps as regular activities. Not local ones: concurrent local activities are not replay
 * safe in SDK 1.24 (live, their results arrive in completion order; on replay, in scheduling order).
 */
export function cheapSteps(): CheapSteps {
  const a = (summary: string): ActivityOptions => ({ ...ATTACH_OPTIONS, summary });
  return {
    associateVmToInstance: (s, input) => attachments.associateVmToInstance.executeWithOptions(a(s), [input]),
    detachDisk: (s, input) => attachments.detachDisk.executeWithOptions(a(s), [input]),
    deleteDisk: (s, input) => attachments.deleteDisk.executeWithOptions(a(s), [input]),
    releaseQuota: (s, input) =>
      quota.releaseQuota.executeWithOptions({ ...QUOTA_OPTIONS, summary: s }, [input]),
  };
}
