// After a stop (cancel, hard stop) or a failure, the enactor starts nothing new except the tear-down
// that keeps DESIGN §9 true: no instance with two active VMs, no allocation without a server.
// - Roll back: a hot_swap VM created but never associated is deleted and its quota released.
// - Roll forward: any other half-done unit runs its remaining tear-down steps, one by one, but
//   creates nothing and powers nothing.
// - Sweep: a create abandoned mid-retry (Enactor.abandonRetrying) may have left an allocation or a
//   server; those tagged with its claim and this operation are deleted, two-stage. The sweep gives
//   up after a few tries (an outage): what it leaves, the next plan removes (orphan, stray allocation).
// The caller runs this in a scope that cannot be cancelled.
import { log } from '@temporalio/workflow';
import { TAG, type Tags } from '../domain/cloud';
import type { PlannedUnit, RolloutPlan } from '../planner/rollout';
import type { Step } from '../planner/types';
import { BUILD_OPTIONS, QUOTA_OPTIONS, TIDY_OPTIONS, builds, quota, tidy } from './activities';
import { describeFailure, type Ledger } from './ledger';
import type { StepActivities } from './step-activities';

/** Whose leftovers a sweep looks for: the deployment, and the operation component of create tags. */
export interface CleanupScope {
  deployment: string;
  operation: string;
}

export async function cleanUp(
  plan: RolloutPlan,
  ledger: Ledger,
  activities: StepActivities,
  onProgress: () => void,
  scope: CleanupScope,
): Promise<void> {
  const work: Array<Promise<void>> = [];
  const abandoned = [...plan.units.values()].flatMap((u) =>
    u.steps.filter((s) => s.kind === 'create-vm' && ledger.abandoned.has(s.id) && !ledger.done.has(s.id)),
  );
  if (abandoned.length > 0) work.push(sweep(abandoned, scope));
  for (const unit of plan.units.values()) {
    const started = unit.steps.some((s) => ledger.done.has(s.id));
    if (!started || ledger.rollout.finished(unit.key)) continue;
    const create = unit.steps.find((s) => s.kind === 'create-vm');
    const onlyCreated = unit.steps.every((s) => s === create || !ledger.done.has(s.id));
    if (create && create.dependsOn.length === 0 && onlyCreated && ledger.done.has(create.id)) {
      work.push(rollBack(create, ledger));
    } else {
      work.push(rollForward(unit, ledger, activities, onProgress));
    }
  }
  await Promise.all(work);
}

/** Deletes what abandoned creates left (servers first, then their allocations), or leaves it. */
async function sweep(creates: Step[], scope: CleanupScope): Promise<void> {
  const claims = new Set(creates.flatMap((s) => (s.kind === 'create-vm' ? [s.claim] : [])));
  const left = (tags: Tags): boolean =>
    tags[TAG.operation] === scope.operation && claims.has(tags[TAG.claim] ?? '');
  const summary = (what: string): string => `sweep after cancel (${[...claims].sort().join(', ')}): ${what}`;
  try {
    const seen = await tidy.observe.executeWithOptions(
      { ...TIDY_OPTIONS, summary: summary('find what the abandoned creates left') },
      [{ deployment: scope.deployment }],
    );
    const servers = seen.servers.filter((s) => left(s.tags));
    await Promise.all(
      servers.map((s) =>
        tidy.deleteServer.executeWithOptions({ ...TIDY_OPTIONS, summary: summary(`delete ${s.id}`) }, [
          { serverId: s.id },
        ]),
      ),
    );
    const allocations = seen.allocations.filter((a) => left(a.tags));
    await Promise.all(
      allocations.map((a) =>
        tidy.releaseQuota.executeWithOptions({ ...TIDY_OPTIONS, summary: summary(`release ${a.id}`) }, [
          { allocationId: a.id, serverId: null },
        ]),
      ),
    );
  } catch (err) {
    log.warn('sweep after cancel gave up: the next plan removes what is left', {
      claims: [...claims],
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

async function rollBack(create: Step, ledger: Ledger): Promise<void> {
  const made = ledger.results.get(create.id);
  if (!made?.serverId) return;
  const summary = `roll back ${create.instance}: delete unassociated VM ${made.serverId}`;
  await builds.deleteServer.executeWithOptions({ ...BUILD_OPTIONS, summary }, [{ serverId: made.serverId }]);
  if (made.allocationId) {
    await quota.releaseQuota.executeWithOptions(
      { ...QUOTA_OPTIONS, summary: `roll back ${create.instance}: release quota` },
      [{ allocationId: made.allocationId, serverId: made.serverId }],
    );
  }
  ledger.results.delete(create.id);
}

async function rollForward(
  unit: PlannedUnit,
  ledger: Ledger,
  activities: StepActivities,
  onProgress: () => void,
): Promise<void> {
  for (;;) {
    const next = unit.steps.find((s) => ledger.isReady(s) && tearsDown(s));
    if (!next) return;
    try {
      ledger.succeeded([next], [await activities.call(next)]);
    } catch (err) {
      ledger.failure ??= describeFailure(next, err);
      return;
    }
    onProgress();
  }
}

/** What rolling forward runs: tear-down, never a create nor power (a power step not started stays not done). */
function tearsDown(step: Step): boolean {
  return (
    step.kind !== 'create-vm' &&
    step.kind !== 'power-off' &&
    step.kind !== 'power-on' &&
    step.kind !== 'reboot'
  );
}
