// After a stop (cancel, hard stop) or a failure, the enactor starts nothing new except the tear-down
// that keeps DESIGN §9 true: no instance with two active VMs, no allocation without a server.
// - Roll back: a hot_swap VM created but never associated is deleted and its quota released.
// - Roll forward: any other half-done unit runs its remaining tear-down steps, one by one, but
//   creates nothing.
// The caller runs this in a scope that cannot be cancelled.
import type { PlannedUnit, RolloutPlan } from '../planner/rollout';
import type { Step } from '../planner/types';
import { BUILD_OPTIONS, QUOTA_OPTIONS, builds, quota } from './activities';
import { describeFailure, type Ledger } from './ledger';
import type { StepActivities } from './step-activities';

export async function cleanUp(
  plan: RolloutPlan,
  ledger: Ledger,
  activities: StepActivities,
  onProgress: () => void,
): Promise<void> {
  const work: Array<Promise<void>> = [];
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
    const next = unit.steps.find((s) => ledger.isReady(s) && s.kind !== 'create-vm');
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
