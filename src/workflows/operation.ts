// One operation on a deployment: observe → patent → embodiment → obligation → quota check → enact →
// verify. Power (stop, start, an instance action) is in the obligation as steps (planner/power.ts). Runs as the child `deployment/<name>/op/<n>` of the deployment entity.
import {
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  metricMeter,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  setWorkflowOptions,
} from '@temporalio/workflow';
import type { AddressHolder, CloudTopology, Image, Observed, PoolStatus } from '../domain/cloud';
import type { VmStrategy } from '../domain/manifest';
import { cloudTargetFindings, type CloudKind } from '../domain/cloud-target';
import { NON_RETRYABLE } from '../domain/activities';
import { formatPath } from '../domain/errors';
import type { InstanceRecord } from '../domain/instance';
import {
  dynamicAddresses,
  embodiment,
  failureBudget,
  freedSoon,
  heldOutside,
  missingImages,
  patent,
  placementsFor,
  planResolution,
  projectStatus,
  quotaShortfall,
  reconcile,
  staticIpsOf,
  stemcellImagesOf,
  topologyContradictions,
  withWaits,
} from '../planner';
import type { Obligation, Patent, Step } from '../planner/types';
import { TIDY_OPTIONS, reads, settings, tidy } from './activities';
import type { Problem } from '../planner/cloud-check';
import { Enactor, type EnactOutcome } from './enactor';
import { keyedOperation } from './incarnation';
import {
  cancelOperationSignal,
  operationFinishedSignal,
  operationPlanQuery,
  progressQuery,
  stepRetryingSignal,
} from './messages';
import { Progress, SEARCH_ATTRIBUTE_KEYS } from './operation-progress';
import { actionWithoutVm, powerIntent } from './power';
import { recordsAfter, recordsFor, selects } from './records';
import type { OperationFailure, OperationInput, OperationResult, PlanView, StepResult } from './types';
import { emptyManifestLike, planView } from './views';
import { whenVersioned } from './versioning';

export { SEARCH_ATTRIBUTE_KEYS };

// Worker Deployment Versioning: an operation finishes on the build it started on (the server keeps
// it there), so changing an operation's code needs no patched() branch. Not given on an unversioned worker.
setWorkflowOptions(whenVersioned('PINNED'), operation);

export async function operation(input: OperationInput): Promise<OperationResult> {
  const result = await runOperation(input);
  // converge_operations{kind,result} (src/workers/metrics.ts); the SDK drops it during replay.
  metricMeter
    .createCounter('converge_operations', 'operations', 'Operations ended, by kind and result')
    .add(1, { kind: input.kind, result: result.status });
  const parent = workflowInfo().parent;
  if (parent) await getExternalWorkflowHandle(parent.workflowId).signal(operationFinishedSignal, result);
  return result;
}

async function runOperation(input: OperationInput): Promise<OperationResult> {
  const progress = new Progress(input);
  setHandler(progressQuery, () => progress.view());
  setHandler(operationPlanQuery, () => progress.plan);
  // A cancel does not wait for steps stuck in a retry loop: they are abandoned (Enactor.abandonRetrying).
  const isRetrying = (step: Step): boolean => progress.waits.isRetrying(step);
  setHandler(stepRetryingSignal, (report) => {
    progress.waits.record(report);
    if (progress.cancelRequested) progress.enactor?.abandonRetrying(isRetrying);
    progress.show();
  });
  setHandler(cancelOperationSignal, () => {
    progress.cancelRequested = true;
    progress.enactor?.stop();
    progress.enactor?.abandonRetrying(isRetrying);
  });
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTE_KEYS.deployment, value: input.deployment },
    { key: SEARCH_ATTRIBUTE_KEYS.operation, value: input.operation },
  ]);
  progress.enter('observing');
  // The strategy default is read once and pinned for the whole operation, across continue-as-new.
  const { defaultStrategy, cloud, observed, pool, topology, holders, images } = await openingReads(input);

  progress.enter('planning');
  const planning = waitingForAddresses(input.deployment, plan(input, defaultStrategy, observed), holders);
  const { obligation } = planning;
  const planned = planView(input.operation, obligation);
  const view = input.reason === undefined ? planned : { ...planned, reason: input.reason };
  progress.planned(obligation, view);
  progress.show();
  const result = resultOf(input, defaultStrategy, obligation, view, planning.cck);
  // An instance action on an instance without a VM, a cloud config the cloud cannot honour
  // (planner/topology.ts; the worker's cloud kind), a stemcell it has no image for (planner/images.ts),
  // or a plan that would wait forever for an address (planner/held.ts, planner/liveness.ts), starts nothing.
  const refused = refusedBeforeAnyStep(input, planning, topology, images, holders, cloud);
  if (input.dryRun) {
    progress.enter('done');
    return { ...result.unchanged(observed, 'planned', refused), plan: view };
  }
  if (!input.resume && refused) {
    progress.failure = refused;
    progress.enter('done');
    return result.unchanged(observed, 'failed', refused);
  }

  if (!input.resume) {
    progress.enter('checking-quota');
    const shortfall = await checkQuota(input, planning.patent, observed, obligation, pool);
    if (shortfall) {
      progress.failure = { step: null, message: shortfall, type: 'QuotaExceeded' };
      progress.enter('done');
      return result.unchanged(observed, 'failed', progress.failure);
    }
  }

  progress.enter('enacting');
  const done = new Set(input.resume?.done ?? []);
  const results = new Map<string, StepResult>(Object.entries(input.resume?.results ?? {}));
  const enactor = new Enactor(obligation, {
    deployment: input.deployment,
    operation: planning.operationId,
    limits: input.limits,
    done,
    results,
    budget: failureBudget(planning.manifest.update),
  });
  progress.enactor = enactor;
  if (progress.cancelRequested) enactor.stop();
  const outcome = await enactor.run(() => progress.show());
  if (outcome === 'drained') return drain(input, defaultStrategy, observed, done, results);

  const records = recordsAfter(planning.records, obligation, done);

  progress.enter('verifying');
  const after = await closingRead(input, outcome, observed);
  const verify = planning.again(after, records);
  progress.failure = endFailure(outcome, enactor.failure, verify);
  const status = progress.failure && outcome === 'done' ? 'failed' : statusOf(outcome);
  progress.enter('done');
  // Stopped short (failed, cancelled): this plan's steps not done. Enacted but not converged: what a
  // new plan would still do.
  const remaining =
    status === 'converged' ? [] : outcome === 'done' ? verify.steps.map((s) => s.id) : enactor.remaining;
  return result.enacted(after, records, status, progress.failure, enactor.stepsDone, remaining);
}

/**
 * What the cloud holds after enactment. After a cancel the region may be the reason for it (an
 * outage): a few tries, then the operation ends on the opening observation rather than wait on.
 */
async function closingRead(
  input: OperationInput,
  outcome: EnactOutcome,
  opening: Observed,
): Promise<Observed> {
  if (outcome !== 'stopped') return reads.observe({ deployment: input.deployment });
  try {
    return await tidy.observe.executeWithOptions({ ...TIDY_OPTIONS, summary: 'observe after cancel' }, [
      { deployment: input.deployment },
    ]);
  } catch (err) {
    log.warn('no observation after cancel: the result shows the opening one', {
      error: err instanceof Error ? err.message : String(err),
    });
    return opening;
  }
}

/** The plan: patent, embodiment, obligation; `again` plans once more against a new observation. */
function plan(input: OperationInput, defaultStrategy: VmStrategy, observed: Observed) {
  const { manifest, cloudConfig } = input;
  const records = recordsFor(input);
  const desired = input.kind === 'delete' ? emptyManifestLike(manifest) : manifest;
  // Placements follow instance adoption (migrated_from, scale down), not the raw records.
  const thePatent: Patent = patent(desired, cloudConfig, placementsFor(desired, records), {
    defaultStrategy,
  });
  // Selectors may name a group: the planner takes instance names, so expand them here.
  const recreate = Array.isArray(input.recreate)
    ? records
        .filter((r) => input.recreate instanceof Array && input.recreate.some((s) => selects(s, r)))
        .map((r) => `${r.group}/${r.id}`)
    : input.recreate;
  // Keys, tags and new uuids carry the entity's incarnation, so a deployment deleted and deployed
  // again never reuses the first one's.
  const operationId = keyedOperation(input);
  const identity = {
    operationSeq: input.seq,
    operationId,
    ...(input.incarnation === undefined ? {} : { incarnation: input.incarnation }),
  };
  if (input.kind === 'cck') {
    // A cloud check plans the resolution's part of the deploy obligation, and verifies that part only.
    const resolution = input.cck?.resolution ?? null;
    const check = (seen: Observed, now: readonly InstanceRecord[]) =>
      planResolution({
        patent: thePatent,
        observed: seen,
        records: now,
        resolution,
        options: { defaultStrategy, ...identity, dynamicAddresses: dynamicAddresses(cloudConfig) },
      });
    const { problems, resolved } = check(observed, records);
    const again = (seen: Observed, now: InstanceRecord[]): Obligation => check(seen, now).resolved.obligation;
    const cck = { problems, resolved: resolved.applied.map((p) => p.id) };
    return {
      patent: thePatent,
      manifest,
      cloudConfig,
      records,
      obligation: resolved.obligation,
      operationId,
      again,
      cck,
    };
  }
  const power = powerIntent(input);
  const obligation: Obligation = reconcile(thePatent, embodiment(input.deployment, observed, records), {
    recreate,
    defaultStrategy,
    ...identity,
    dynamicAddresses: dynamicAddresses(cloudConfig),
    ...(power === undefined ? {} : { power }),
  });
  // The verifying re-plan asks for no power: a reboot is never "still owed".
  const again = (seen: Observed, now: InstanceRecord[]): Obligation =>
    reconcile(thePatent, embodiment(input.deployment, seen, now), {
      recreate: false,
      defaultStrategy,
      ...identity,
    });
  const cck: { problems: Problem[]; resolved: string[] } | null = null;
  return { patent: thePatent, manifest, cloudConfig, records, obligation, operationId, again, cck };
}

/** The operation's result, before enactment (dry run, quota failure) or after it. */
function resultOf(
  input: OperationInput,
  strategy: VmStrategy,
  obligation: Obligation,
  view: PlanView,
  cck: { problems: Problem[]; resolved: string[] } | null,
) {
  const base = {
    ...(cck ?? {}),
    deployment: input.deployment,
    operation: input.operation,
    kind: input.kind,
    strategy,
    summary: view.summary,
    instances: obligation.instances,
    warnings: obligation.warnings,
    stepsTotal: obligation.steps.length,
    continuedAsNew: input.resume?.runs ?? 0,
    plan: null,
  };
  return {
    unchanged: (
      observed: Observed,
      status: 'planned' | 'failed',
      failure: OperationFailure | null,
    ): OperationResult => ({
      ...base,
      status,
      records: input.records,
      projection: projectStatus(embodiment(input.deployment, observed, input.records)),
      stepsDone: 0,
      remaining: obligation.steps.map((s) => s.id),
      failure,
    }),
    enacted: (
      after: Observed,
      records: InstanceRecord[],
      status: OperationResult['status'],
      failure: OperationFailure | null,
      stepsDone: number,
      remaining: string[],
    ): OperationResult => ({
      ...base,
      status,
      records,
      projection: projectStatus(embodiment(input.deployment, after, records)),
      stepsDone,
      remaining,
      failure,
    }),
  };
}

/**
 * The plan with a reason on each create whose static IP a holder outside the deployment frees by being
 * deleted (planner/held.ts): not refused, it waits within the conflict budget.
 */
function waitingForAddresses<P extends Pick<ReturnType<typeof plan>, 'manifest' | 'obligation'>>(
  deployment: string,
  planning: P,
  holders: readonly AddressHolder[],
): P {
  const minutes = failureBudget(planning.manifest.update).conflictMs / 60_000;
  const waits = freedSoon(deployment, planning.obligation.steps, holders, minutes);
  return waits.length === 0 ? planning : { ...planning, obligation: withWaits(planning.obligation, waits) };
}

/** Failure type of an operation whose plan would wait forever (planner/liveness.ts): nothing started. */
export const PLAN_REFUSED = 'PlanRefused';

/** Failure type of an operation whose cloud config names what the cloud does not have: nothing started. */
export const CLOUD_CONFIG_MISMATCH = 'CloudConfigMismatch';

/**
 * Why the operation must start nothing, or null: an instance action on an instance without a VM
 * (`InvalidState`), a cloud config the cloud cannot honour
 * (planner/topology.ts; the worker's cloud kind), a stemcell it has no image for (planner/images.ts),
 * or a plan that would wait forever for an address (planner/held.ts, planner/liveness.ts). The first
 * kind found wins; each names every instance of itself.
 */
function refusedBeforeAnyStep(
  input: OperationInput,
  planning: Pick<ReturnType<typeof plan>, 'manifest' | 'cloudConfig' | 'obligation'>,
  topology: CloudTopology | null,
  images: readonly Image[] | null,
  holders: readonly AddressHolder[],
  cloud: CloudKind | undefined,
): OperationFailure | null {
  const { manifest, cloudConfig, obligation } = planning;
  const creates = obligation.steps.some((s) => s.kind === 'create-vm');
  const findings = cloud === undefined || !creates ? [] : cloudTargetFindings(cloud, input.cloudConfig);
  return (
    refusedFor(NON_RETRYABLE.invalidState, actionWithoutVm(input, obligation)) ??
    refusedFor(
      CLOUD_CONFIG_MISMATCH,
      topology === null
        ? []
        : topologyContradictions(manifest, cloudConfig, topology).map(
            (c) => `cloud config ${c.path}: ${c.message}`,
          ),
    ) ??
    refusedFor(
      NON_RETRYABLE.imageNotFound,
      images === null ? [] : missingImages(manifest, obligation.steps, images).map((m) => m.message),
    ) ??
    refusedFor(
      PLAN_REFUSED,
      heldOutside(input.deployment, obligation.steps, holders).map((h) => h.message),
    ) ??
    refusedFor(
      PLAN_REFUSED,
      obligation.refusals.map((r) => r.message),
    ) ??
    // The CLI refuses the same before anything starts when told the cloud (--cloud / CONVERGE_CLOUD);
    // this catches the rest.
    refusedFor(
      NON_RETRYABLE.invalid,
      findings.map((f) => `cloud config ${formatPath(f.path)}: ${f.message}`),
      `the worker computes on ${cloud ?? ''}:\n`,
    )
  );
}

function refusedFor(type: string, messages: readonly string[], lead = ''): OperationFailure | null {
  return messages.length === 0 ? null : { step: null, type, message: lead + messages.join('\n') };
}

function statusOf(outcome: EnactOutcome): OperationResult['status'] {
  return outcome === 'stopped' ? 'cancelled' : outcome === 'done' ? 'converged' : 'failed';
}

/** The enactor's failure; a stall; or, after a clean enactment, the steps a second plan still finds. */
function endFailure(
  outcome: EnactOutcome,
  failure: OperationFailure | null,
  verify: Obligation,
): OperationFailure | null {
  if (outcome === 'failed' && !failure) {
    return { step: null, message: 'enactment stalled: steps remain that nothing can start', type: 'Stalled' };
  }
  if (outcome === 'done' && verify.steps.length > 0) {
    const first = verify.steps
      .slice(0, 3)
      .map((s) => s.id)
      .join(', ');
    const message = `not converged after enactment: ${verify.steps.length} steps remain (${first}…)`;
    return { step: null, message, type: 'NotConverged' };
  }
  return failure;
}

/** History is long: continue as new with what is done, re-planning from the same inputs. */
async function drain(
  input: OperationInput,
  defaultStrategy: VmStrategy,
  observed: Observed,
  done: Set<string>,
  results: Map<string, StepResult>,
): Promise<never> {
  log.info('history is long: continuing as new', { events: workflowInfo().historyLength, done: done.size });
  return continueAsNew<typeof operation>({
    ...input,
    resume: {
      defaultStrategy,
      observed,
      done: [...done],
      results: Object.fromEntries(results),
      runs: (input.resume?.runs ?? 0) + 1,
    },
  });
}

interface OpeningReads {
  defaultStrategy: VmStrategy;
  /** The worker's cloud (WorkerSettings.cloud); undefined when resumed or not known. */
  cloud: CloudKind | undefined;
  observed: Observed;
  /** The resource pool's status, read with the others when the operation may create VMs; null if it failed. */
  pool: Promise<PoolStatus | null> | null;
  /** The cloud's AZs and networks to check the cloud config against; null: nothing to check (resumed). */
  topology: CloudTopology | null;
  /** Who holds the manifest's static IPs, whatever deployment; empty: none held, or nothing to check. */
  holders: AddressHolder[];
  /** The images the cloud has (for the manifest's stemcells); null: nothing to check (resumed, delete). */
  images: Image[] | null;
}

/**
 * What an operation reads before it plans: the worker's default strategy, the embodiment and, when it
 * may create VMs, the resource pool its quota check needs. They go out together, in one workflow
 * task, instead of one after another with a workflow-task turn each. A resumed run reads nothing.
 */
async function openingReads(input: OperationInput): Promise<OpeningReads> {
  if (input.resume) {
    return {
      defaultStrategy: input.resume.defaultStrategy,
      cloud: undefined,
      observed: input.resume.observed,
      pool: null,
      topology: null,
      holders: [],
      images: null,
    };
  }
  const mayCreate =
    !input.dryRun &&
    (input.kind === 'deploy' ||
      input.kind === 'recreate' ||
      (input.kind === 'cck' && input.cck?.resolution === 'recreate-vm'));
  // A failed read here is not the operation's failure: the quota check reads the pool again.
  const pool = mayCreate ? reads.getPool(input.manifest.resource_pool).catch(() => null) : null;
  // The static IPs and stemcells new VMs may need: who holds those, whether the cloud has these (a
  // delete creates nothing).
  const creates = input.kind !== 'delete';
  const addresses = creates ? staticIpsOf(input.manifest) : [];
  const [{ defaultStrategy, cloud }, seen] = await Promise.all([
    settings.workerSettings(),
    reads.observe({
      deployment: input.deployment,
      topology: true,
      ...(addresses.length > 0 ? { addresses } : {}),
      ...(creates ? { stemcells: stemcellImagesOf(input.manifest) } : {}),
    }),
  ]);
  // Kept apart: the observation travels on (continue-as-new, the planner); what else was read does not.
  const { topology, holders, images, ...observed } = seen;
  return {
    defaultStrategy,
    cloud,
    observed,
    pool,
    topology: topology ?? null,
    holders: holders ?? [],
    images: images ?? null,
  };
}

/** Fails the operation before any step when the pool cannot hold the obligation's peak. */
async function checkQuota(
  input: OperationInput,
  thePatent: Patent,
  observed: Observed,
  obligation: Obligation,
  read: Promise<PoolStatus | null> | null,
): Promise<string | null> {
  if (obligation.steps.every((s) => s.kind !== 'create-vm')) return null;
  const status = (await read) ?? (await reads.getPool(thePatent.resourcePool));
  return quotaShortfall({
    deployment: input.deployment,
    pool: thePatent.resourcePool,
    status,
    mine: observed.allocations,
    peak: obligation.quotaPeak,
  });
}
