// The plan as users and scripts see it: the `--json` shape of `converge plan` (keys fixed by the
// issue, insertion-ordered so identical obligations print byte-identical text) and one-line summaries.
import type { QuotaAmount } from '../domain/cloud';
import type { VmStrategy } from '../domain/manifest';
import type { InstanceAction, Obligation, StepKind } from './types';

export interface PlanView {
  deployment: string;
  converged: boolean;
  summary: Record<InstanceAction, number>;
  instances: {
    instance: string;
    action: InstanceAction;
    strategy: VmStrategy | null;
    reasons: string[];
    destructive: boolean;
  }[];
  steps: { id: string; kind: StepKind; instance: string; dependsOn: string[]; reasons: string[] }[];
  quotaPeak: QuotaAmount;
}

export function isConverged(obligation: Obligation): boolean {
  return obligation.steps.length === 0;
}

export function planSummary(obligation: Obligation): Record<InstanceAction, number> {
  const summary = { create: 0, replace: 0, delete: 0, keep: 0 };
  for (const p of obligation.instances) summary[p.action]++;
  return summary;
}

export function planView(obligation: Obligation): PlanView {
  return {
    deployment: obligation.deployment,
    converged: isConverged(obligation),
    summary: planSummary(obligation),
    instances: obligation.instances.map((p) => ({
      instance: p.instance,
      action: p.action,
      strategy: p.strategy,
      reasons: [...p.reasons],
      destructive: p.destructive,
    })),
    steps: obligation.steps.map((s) => ({
      id: s.id,
      kind: s.kind,
      instance: s.instance,
      dependsOn: [...s.dependsOn],
      reasons: [...s.reasons],
    })),
    quotaPeak: {
      cpus: obligation.quotaPeak.cpus,
      memory_mb: obligation.quotaPeak.memory_mb,
      instances: obligation.quotaPeak.instances,
    },
  };
}

export function planJson(obligation: Obligation): string {
  return `${JSON.stringify(planView(obligation), null, 2)}\n`;
}

const KINDS = [
  'stemcell',
  'vm_type',
  'az',
  'network',
  'env',
  'group renamed',
  '--recreate',
  'failed server',
  'missing VM',
  'cloud properties',
  'detached',
];

/** The kind of a reason, for summaries: `stemcell 1.181 → 1.182` → `stemcell`. */
export function reasonKind(reason: string): string {
  return KINDS.find((k) => reason.startsWith(k)) ?? reason.replace(/ \(.*$/, '');
}

/** `deploy web: 3 create, 2 replace (stemcell), 1 delete` — or `deploy web: converged`. */
export function planHeadline(verb: string, obligation: Obligation): string {
  const s = planSummary(obligation);
  const replaceKinds = new Set<string>();
  for (const p of obligation.instances)
    if (p.action === 'replace')
      for (const r of p.reasons) if (!r.startsWith('delete_create instead')) replaceKinds.add(reasonKind(r));
  const parts: string[] = [];
  if (s.create > 0) parts.push(`${s.create} create`);
  if (s.replace > 0) parts.push(`${s.replace} replace (${[...replaceKinds].join(', ')})`);
  if (s.delete > 0) parts.push(`${s.delete} delete`);
  const cleanup = obligation.steps.filter((st) => st.group === '').length;
  if (cleanup > 0) parts.push(`${cleanup} cleanup step${cleanup === 1 ? '' : 's'}`);
  return `${verb} ${obligation.deployment}: ${parts.length === 0 ? (isConverged(obligation) ? 'converged' : 'cleanup only') : parts.join(', ')}`;
}
