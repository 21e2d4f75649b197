// What the UI, the CLI and queries show of an obligation.
import type { Manifest } from '../domain/manifest';
import { reasonCode } from '../planner';
import type { InstancePlan, Obligation } from '../planner/types';
import type { DeploymentState, OperationTicket, PlanSummary, PlanView } from './types';

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

/**
 * "deploy web: 3 create, 2 replace (stemcell), 1 delete": what an operation does, for the UI. Before it
 * plans (the child's static summary) only the kind is known; the plan adds counts and, for
 * replacements, their most common reason codes (`stemcell_changed` reads `stemcell`); with its steps,
 * power too ("stop web: 5 power-off").
 */
export function operationSummary(
  kind: string,
  deployment: string,
  plan: (Pick<PlanView, 'summary'> & Partial<Pick<PlanView, 'instances' | 'steps'>>) | null,
): string {
  if (!plan) return `${kind} ${deployment}`;
  const s = plan.summary;
  const why = replaceWhy(plan.instances ?? []);
  const parts = (['create', 'replace', 'delete'] as const)
    .filter((k) => s[k] > 0)
    .map((k) => (k === 'replace' ? `${s[k]} replace${why}` : `${s[k]} ${k}`));
  parts.push(...powerCounts(plan.steps ?? []));
  return `${kind} ${deployment}: ${parts.length ? parts.join(', ') : 'no changes'}`;
}

/** "2 power-off": power steps by kind (the instances they serve count as keep in the summary). */
function powerCounts(steps: readonly Pick<PlanView['steps'][number], 'kind'>[]): string[] {
  return (['power-off', 'power-on', 'reboot'] as const).flatMap((k) => {
    const n = steps.filter((st) => st.kind === k).length;
    return n > 0 ? [`${n} ${k}`] : [];
  });
}

/** " (stemcell, env)": the reason codes of replacements, most frequent first (ties by name), at most 3. */
function replaceWhy(instances: readonly InstancePlan[]): string {
  const counts = new Map<string, number>();
  for (const i of instances) {
    if (i.action !== 'replace') continue;
    for (const code of new Set(i.reasons.map((r) => reasonCode(r).replace(/_changed$/, '')))) {
      counts.set(code, (counts.get(code) ?? 0) + 1);
    }
  }
  const codes = [...counts.entries()]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, 3)
    .map(([code]) => code);
  return codes.length ? ` (${codes.join(', ')})` : '';
}

/**
 * The entity's current details in the Temporal UI (markdown): what runs now, what the last
 * operations did, and the watch's word on the deployment (meltdown, trouble).
 */
export function entityDetails(
  state: Pick<DeploymentState, 'name' | 'recent' | 'records' | 'deleted' | 'heal'>,
  current: OperationTicket | null,
): string {
  const lines = [
    `**deployment ${state.name}**: ${state.deleted ? 'deleted' : current ? `${current.kind} running (${current.operation})` : 'idle'}, ${state.records.length} instances`,
  ];
  for (const r of state.recent.slice(0, 3)) {
    const what = operationSummary(r.kind, state.name, r.summary ? { summary: r.summary } : null);
    const who = r.by && r.by !== 'user' ? ` by ${r.by}` : '';
    lines.push(`- ${r.operation}: ${what}${who}: ${r.status}${r.failure ? ` (${r.failure.message})` : ''}`);
  }
  if (state.heal?.meltdown) lines.push(state.heal.meltdown);
  const trouble = Object.keys(state.heal?.trouble ?? {}).length;
  if (trouble > 0) lines.push(`watch: ${trouble} instance(s) in trouble`);
  return lines.join('\n');
}
