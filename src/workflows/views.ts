// What the UI, the CLI and queries show of an obligation.
import type { Manifest } from '../domain/manifest';
import type { InstancePlan, Obligation } from '../planner/types';
import type { PlanSummary, PlanView } from './types';

export function summarize(instances: InstancePlan[]): PlanSummary {
  const s: PlanSummary = { create: 0, replace: 0, delete: 0, keep: 0 };
  for (const i of instances) s[i.action]++;
  return s;
}

export function planView(operation: string, o: Obligation): PlanView {
  return {
    operation,
    summary: summarize(o.instances),
    instances: o.instances,
    steps: o.steps.map((s) => ({
      id: s.id,
      kind: s.kind,
      instance: s.instance,
      dependsOn: s.dependsOn,
      reasons: s.reasons,
    })),
    quotaPeak: o.quotaPeak,
    warnings: o.warnings,
  };
}

/** The manifest with no instance groups: its patent is empty, so reconcile plans deleting everything. */
export function emptyManifestLike(m: Manifest): Manifest {
  return { ...m, instance_groups: [] };
}

/** "deploy web: 3 create, 2 replace (stemcell), 1 delete" for the operation's static summary. */
export function operationSummary(kind: string, deployment: string, s: PlanSummary | null): string {
  if (!s) return `${kind} ${deployment}`;
  const parts = (['create', 'replace', 'delete'] as const).filter((k) => s[k] > 0).map((k) => `${s[k]} ${k}`);
  return `${kind} ${deployment}: ${parts.length ? parts.join(', ') : 'no changes'}`;
}
