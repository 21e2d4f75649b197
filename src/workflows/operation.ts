// One operation on a deployment: observe → patent → embodiment → obligation → enact → verify.
// Runs as the child `deployment/<name>/op/<n>` of the deployment entity.
import {
  ApplicationFailure,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  metricMeter,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { VmStrategy } from '../domain/manifest';
import type { Observed, PoolStatus } from '../domain/cloud';
import type { InstanceRecord } from '../domain/instance';
import {
  dynamicAddresses,
  embodiment,
  failureBudget,
  patent,
  placementsFor,
  projectStatus,
  reconcile,
} from '../planner';
import type { Obligation, Patent, Step } from '../planner/types';
import { actions, reads, settings } from './activities';
import { Enactor } from './enactor';
import {
  cancelOperationSignal,
  operationFinishedSignal,
  operationPlanQuery,
  progressQuery,
  SEARCH_ATTRIBUTES,
  stepRetryingSignal,
} from './messages';
import { Waits } from './waiting';
import { emptyManifestLike, planView } from './views';
import { recordsAfter, recordsFor, selects } from './records';
import type {
  OperationFailure,
  OperationInput,
  OperationProgress,
  OperationResult,
  Phase,
  PlanView,
  StepResult,
} from './types';
import { parseStoredInputs } from './validation';
import { keyedOperation } from './incarnation';

export async function operation(input: OperationInput): Promise<OperationResult> {
  const result = await runOperation(input);
  // converge_operations{kind,result} (src/workers/metrics.ts); the SDK drops it during replay.
  metricMeter
    .createCounter('converge_operations', 'operations', 'Operations ended, by kind and result')
    .add(1, { kind: input.kind, result: result.status });
  const parent = workflowInfo().parent;
  if (parent) {
    await getExternalWorkflowHandle(parent.workflowId).signal(operationFinishedSignal, result);
  }
  return result;
}

async function runOperation(input: OperationInput): Promise<OperationResult> {
  let phase: Phase = 'observing';
  let plan: PlanView | null = null;
  let enactor: Enactor | null = null;
  let cancelRequested = false;
  let failure: OperationFailure | null = null;
  let obligation: Obligation | null = null;
  let stepsById: Map<string, Step> | null = null;
  const waits = new Waits();
  const stepOf = (id: string): Step | undefined => {
    if (!obligation) return undefined;
    stepsById ??= new Map(obligation.steps.map((s) => [s.id, s] as const));
    return stepsById.get(id);
  };

  const progress = (): OperationProgress => {
    const inFlight = enactor?.inFlightView() ?? [];
    return {
      operation: input.operation,
      kind: input.kind,
      phase,
      stepsTotal: plan?.steps.length ?? 0,
      stepsDone: enactor?.stepsDone ?? 0,
      inFlight,
      waiting: waits.current(phase, inFlight, stepOf, Date.now()),
      summary: plan?.summary ?? null,
      cancelRequested,
      failure: failure ?? enactor?.failure ?? null,
    };
  };
  const enterPhase = (next: Phase): void => {
    if (next !== phase) waits.clearReads();
    phase = next;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.phase, value: next }]);
    showDetails();
  };
  const showDetails = (): void => {
    const p = progress();
    const lines = [`**${input.kind} ${input.deployment}** (${input.operation}): ${p.phase}`];
    if (plan) lines.push(summaryLine(plan));
    if (p.stepsTotal)
      lines.push(`steps: ${p.stepsDone}/${p.stepsTotal} done, ${p.inFlight.length} in flight`);
    for (const s of p.inFlight.slice(0, 5)) lines.push(`- ${s.summary}`);
    if (p.waiting.length > 0) lines.push(`waiting (${p.waiting.length}):`);
    for (const w of p.waiting.slice(0, 5)) lines.push(`- ${w.line}`);
    if (p.failure) lines.push(`failed: ${p.failure.message}`);
    setCurrentDetails(lines.join('\n'));
  };

  setHandler(progressQuery, progress);
  setHandler(operationPlanQuery, () => plan);
  setHandler(stepRetryingSignal, (report) => {
    waits.record(report);
    showDetails();
  });
  setHandler(cancelOperationSignal, () => {
    cancelRequested = true;
    enactor?.stop();
  });
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTE_KEYS.deployment, value: input.deployment },
    { key: SEARCH_ATTRIBUTE_KEYS.operation, value: input.operation },
  ]);
  enterPhase('observing');

  // The strategy default is read once and pinned for the whole operation, across continue-as-new:
  // an operation finishes on the code path it started with (Heat's rule).
  const opening = await openingReads(input);
  const defaultStrategy: VmStrategy = opening.defaultStrategy;
  const observed: Observed = opening.observed;

  enterPhase('planning');
  const { manifest, cloudConfig } = parseStoredInputs(input);
  const records = recordsFor(input);
  const desired = input.kind === 'delete' ? emptyManifestLike(manifest) : manifest;
  // Placements follow instance adoption (migrated_from, scale down), not the raw records.
  const placements = placementsFor(desired, records);
  const thePatent: Patent = patent(desired, cloudConfig, placements, { defaultStrategy });
  // Selectors may name a group: the planner takes instance names, so expand them here.
  const recreate = Array.isArray(input.recreate)
    ? records
        .filter((r) => input.recreate instanceof Array && input.recreate.some((s) => selects(s, r)))
        .map((r) => `${r.group}/${r.id}`)
    : input.recreate;
  // Keys, tags and new uuids carry the entity's incarnation, so a deployment deleted and deployed again
  // never reuses the first one's.
  const identity = {
    operationSeq: input.seq,
    operationId: keyedOperation(input),
    ...(input.incarnation === undefined ? {} : { incarnation: input.incarnation }),
  };
  obligation = reconcile(thePatent, embodiment(input.deployment, observed, records), {
    recreate,
    defaultStrategy,
    ...identity,
    dynamicAddresses: dynamicAddresses(cloudConfig),
  });
  plan = planView(input.operation, obligation);
  showDetails();

  const base = {
    deployment: input.deployment,
    operation: input.operation,
    kind: input.kind,
    strategy: defaultStrategy,
    summary: plan.summary,
    instances: obligation.instances,
    warnings: obligation.warnings,
    stepsTotal: obligation.steps.length,
    continuedAsNew: input.resume?.runs ?? 0,
    plan: null,
  };

  // A plan that would wait forever for an address (planner/liveness.ts) starts nothing.
  const refused: OperationFailure | null =
    obligation.refusals.length === 0
      ? null
      : { step: null, type: PLAN_REFUSED, message: obligation.refusals.map((r) => r.message).join('\n') };

  if (input.dryRun) {
    enterPhase('done');
    return {
      ...base,
      plan,
      status: 'planned',
      records: input.records,
      projection: projectStatus(embodiment(input.deployment, observed, input.records)),
      stepsDone: 0,
      remaining: obligation.steps.map((s) => s.id),
      failure: refused,
    };
  }

  if (!input.resume && refused) {
    failure = refused;
    enterPhase('done');
    return {
      ...base,
      status: 'failed',
      records: input.records,
      projection: projectStatus(embodiment(input.deployment, observed, input.records)),
      stepsDone: 0,
      remaining: obligation.steps.map((s) => s.id),
      failure,
    };
  }

  if (!input.resume) {
    enterPhase('checking-quota');
    const shortfall = await quotaShortfall(
      thePatent.resourcePool,
      observed,
      obligation,
      input.deployment,
      opening.pool,
    );
    if (shortfall) {
      failure = { step: null, message: shortfall, type: 'QuotaExceeded' };
      enterPhase('done');
      return {
        ...base,
        status: 'failed',
        records: input.records,
        projection: projectStatus(embodiment(input.deployment, observed, input.records)),
        stepsDone: 0,
        remaining: obligation.steps.map((s) => s.id),
        failure,
      };
    }
  }

  enterPhase('enacting');
  const done = new Set(input.resume?.done ?? []);
  const results = new Map<string, StepResult>(Object.entries(input.resume?.results ?? {}));
  enactor = new Enactor(obligation, {
    deployment: input.deployment,
    operation: identity.operationId,
    limits: input.limits,
    done,
    results,
    budget: failureBudget(manifest.update),
  });
  if (cancelRequested) enactor.stop();
  const outcome = await enactor.run(showDetails);

  if (outcome === 'drained') {
    log.info('history is long: continuing as new', { events: workflowInfo().historyLength, done: done.size });
    await continueAsNew<typeof operation>({
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

  let newRecords = recordsAfter(records, obligation, done);
  if (input.kind === 'instance-action' && input.action && outcome === 'done') {
    newRecords = await instanceAction(input, newRecords, observed);
  }
  if (input.kind === 'stop' && !input.stop?.hard && outcome === 'done') {
    await powerOff(input, newRecords, observed);
  }
  if (input.kind === 'start' && outcome === 'done') {
    await powerOn(input, newRecords, observed);
  }

  enterPhase('verifying');
  const after = await reads.observe({ deployment: input.deployment });
  const verify = reconcile(thePatent, embodiment(input.deployment, after, newRecords), {
    recreate: false,
    defaultStrategy,
    ...identity,
  });
  failure = enactor.failure;
  if (outcome === 'failed' && !failure) {
    failure = {
      step: null,
      message: 'enactment stalled: steps remain that nothing can start',
      type: 'Stalled',
    };
  }
  let status: OperationResult['status'] =
    outcome === 'stopped' ? 'cancelled' : outcome === 'done' ? 'converged' : 'failed';
  if (status === 'converged' && verify.steps.length > 0) {
    status = 'failed';
    failure = {
      step: null,
      message: `not converged after enactment: ${verify.steps.length} steps remain (${verify.steps
        .slice(0, 3)
        .map((s) => s.id)
        .join(', ')}…)`,
      type: 'NotConverged',
    };
  }
  enterPhase('done');
  return {
    ...base,
    status,
    records: newRecords,
    projection: projectStatus(embodiment(input.deployment, after, newRecords)),
    stepsDone: enactor.stepsDone,
    // Stopped short (failed, cancelled): this plan's steps not done. Enacted but not converged: what
    // a new plan would still do.
    remaining:
      status === 'converged' ? [] : outcome === 'done' ? verify.steps.map((s) => s.id) : enactor.remaining,
    failure,
  };
}

/** Failure type of an operation whose plan would wait forever (planner/liveness.ts): nothing started. */
export const PLAN_REFUSED = 'PlanRefused';

const SEARCH_ATTRIBUTE_KEYS = {
  deployment: { name: SEARCH_ATTRIBUTES.deployment, type: 'KEYWORD' },
  operation: { name: SEARCH_ATTRIBUTES.operation, type: 'KEYWORD' },
  phase: { name: SEARCH_ATTRIBUTES.phase, type: 'KEYWORD' },
} as const;
export { SEARCH_ATTRIBUTE_KEYS };

function summaryLine(plan: PlanView): string {
  const s = plan.summary;
  return `plan: ${s.create} create, ${s.replace} replace, ${s.delete} delete, ${s.keep} keep`;
}

interface OpeningReads {
  defaultStrategy: VmStrategy;
  observed: Observed;
  /** The resource pool's status, read with the others when the operation may create VMs; null if it failed. */
  pool: Promise<PoolStatus | null> | null;
}

/**
 * What an operation reads before it plans: the worker's default strategy, the embodiment and, when it
 * may create VMs, the resource pool its quota check needs. They go out together, in one workflow
 * task, instead of one after another with a workflow-task turn each. A resumed run reads nothing.
 */
async function openingReads(input: OperationInput): Promise<OpeningReads> {
  if (input.resume) {
    return { defaultStrategy: input.resume.defaultStrategy, observed: input.resume.observed, pool: null };
  }
  const mayCreate = !input.dryRun && (input.kind === 'deploy' || input.kind === 'recreate');
  // A failed read here is not the operation's failure: the quota check reads the pool again if it
  // needs it, and fails there as it would have without this read.
  const pool = mayCreate
    ? reads.getPool(parseStoredInputs(input).manifest.resource_pool).catch(() => null)
    : null;
  const [{ defaultStrategy }, observed] = await Promise.all([
    settings.workerSettings(),
    reads.observe({ deployment: input.deployment }),
  ]);
  return { defaultStrategy, observed, pool };
}

/** Fails the operation before any step when the pool cannot hold the obligation's peak. */
async function quotaShortfall(
  pool: string,
  observed: Observed,
  obligation: Obligation,
  deployment: string,
  read: Promise<PoolStatus | null> | null,
): Promise<string | null> {
  if (obligation.steps.every((s) => s.kind !== 'create-vm')) return null;
  const status = (await read) ?? (await reads.getPool(pool));
  const mine = observed.allocations.reduce(
    (sum, a) => ({
      cpus: sum.cpus + a.cpus,
      memory_mb: sum.memory_mb + a.memory_mb,
      instances: sum.instances + a.instances,
    }),
    { cpus: 0, memory_mb: 0, instances: 0 },
  );
  const over: string[] = [];
  for (const r of ['cpus', 'memory_mb', 'instances'] as const) {
    const need = status.usage[r] - mine[r] + obligation.quotaPeak[r];
    if (need > status.limits[r]) {
      over.push(
        `${r}: needs ${need} at peak, limit ${status.limits[r]} (short by ${need - status.limits[r]})`,
      );
    }
  }
  return over.length
    ? `quota exceeded in resource pool '${pool}' for deployment ${deployment}: ${over.join('; ')}`
    : null;
}

async function instanceAction(
  input: OperationInput,
  records: InstanceRecord[],
  observed: Observed,
): Promise<InstanceRecord[]> {
  const action = input.action;
  if (!action) return records;
  const e = embodiment(input.deployment, observed, records);
  const target = e.instances.find(
    (i) =>
      `${i.record.group}/${i.record.id}` === action.instance ||
      `${i.record.group}/${i.record.index}` === action.instance,
  );
  if (!target?.server) {
    throw ApplicationFailure.nonRetryable(
      `instance ${action.instance} has no VM to ${action.action}`,
      'InvalidState',
    );
  }
  await actions.instanceAction.executeWithOptions(
    { startToCloseTimeout: '2 minutes', summary: `${action.action} ${action.instance}` },
    [{ serverId: target.server.id, action: action.action }],
  );
  const state =
    action.action === 'stop' ? 'stopped' : action.action === 'start' ? 'started' : target.record.state;
  return records.map((r) => (r.id === target.record.id ? { ...r, state } : r));
}

/** Powers on the VMs of instances `start` marked started that are still powered off. */
async function powerOn(input: OperationInput, records: InstanceRecord[], observed: Observed): Promise<void> {
  const e = embodiment(input.deployment, observed, records);
  await Promise.all(
    e.instances
      .filter((i) => i.record.state === 'started' && i.server && i.server.power === 'stopped')
      .map((i) =>
        actions.instanceAction.executeWithOptions(
          { startToCloseTimeout: '2 minutes', summary: `start ${i.record.group}/${i.record.id}` },
          [{ serverId: i.server?.id ?? '', action: 'start' }],
        ),
      ),
  );
}

async function powerOff(input: OperationInput, records: InstanceRecord[], observed: Observed): Promise<void> {
  const e = embodiment(input.deployment, observed, records);
  await Promise.all(
    e.instances
      .filter((i) => i.record.state === 'stopped' && i.server && i.server.power === 'running')
      .map((i) =>
        actions.instanceAction.executeWithOptions(
          { startToCloseTimeout: '2 minutes', summary: `stop ${i.record.group}/${i.record.id}` },
          [{ serverId: i.server?.id ?? '', action: 'stop' }],
        ),
      ),
  );
}
