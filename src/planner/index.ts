// The planner's public API: pure functions from (manifest, cloud config, observation, records) to
// an obligation. Imported by workflows (inside Temporal's sandbox) and by the CLI.
export { canonicalJson } from './canonical';
export { fingerprint, fingerprintFields, type FingerprintFields } from './fingerprint';
export { derivedUuid } from './hash';
export { patent, placementsFor, type PatentOptions } from './patent';
export { failureBudget, resolveMaxInFlight } from './policy';
export {
  Rollout,
  admissible,
  isBatchCreate,
  rolloutPlan,
  stagesOf,
  startable,
  type GroupLane,
  type PlannedUnit,
  type RolloutInput,
  type RolloutPlan,
  type RolloutState,
  type StepState,
} from './rollout';
export { embodiment } from './embodiment';
export { reconcile, REASON } from './reconcile';
export { ACTION_OF, POWER_REASON, powerFor, type PowerNeed, type PoweredInstance } from './power';
export { addressRefusals, type AddressRefusal } from './liveness';
export { dynamicAddresses } from './addresses';
export { topologyContradictions, type Contradiction } from './topology';
export { freedSoon, heldOutside, staticIpsOf, withWaits, type FreedSoon, type HeldOutside } from './held';
export { missingImages, stemcellImagesOf, type MissingImage } from './images';
export { quotaPeak, quotaDelta, quotaShortfall } from './quota';
export { projectStatus, type StatusRow } from './status';
export {
  conditionOf,
  eventId,
  deploymentEvent,
  stateChanges,
  type Condition,
  type EventContext,
  type WatchedRow,
} from './changes';
export {
  DEFAULT_GRACE_SECONDS,
  DEFAULT_MAX_UNHEALTHY,
  resolveMaxUnhealthy,
  resurrectionDecision,
  resurrectionKey,
  trackTrouble,
  type Resurrect,
  type ResurrectionDecision,
  type ResurrectionInput,
  type Trouble,
} from './resurrection';
export { projectionDigest, watchDigest, watchProjection } from './watch-digest';
export { reasonCode, type ReasonCode } from './reasons';
export { snapshotSchema, type Snapshot } from './snapshot';
export { PLAN_TAG, parseSpecTag } from './spec-tag';
export type * from './types';
export {
  cloudCheck,
  planResolution,
  problemsFitting,
  recordsForResolution,
  recreateFor,
  resolve,
  PROBLEM_KINDS,
  RESOLUTIONS,
  type Problem,
  type ProblemKind,
  type Resolution,
  type Resolved,
} from './cloud-check';
