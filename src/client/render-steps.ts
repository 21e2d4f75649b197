// The plan of a stop, start or recreate dry run: its steps, each with the instance and the reasons
// the planner gave (codes beside the text in --json, as a deploy's plan). A deploy's plan has its own,
// richer renderer (render-plan.ts): it knows the manifest, which these commands do not send.
import { reasonCode } from '../planner/reasons';
import type { PlanView } from '../workflows/types';
import { table } from './render-operation';

export function renderSteps(plan: PlanView): string {
  const counts = new Map<string, number>();
  for (const s of plan.steps) counts.set(s.kind, (counts.get(s.kind) ?? 0) + 1);
  const what = [...counts].map(([kind, n]) => `${n} ${kind}`).join(', ') || 'no changes';
  const lines = [`Plan (${plan.operation}, dry run: nothing changed): ${what}`];
  if (plan.steps.length > 0) {
    const rows = plan.steps.map((s) => [s.kind, s.instance, s.reasons.join('; ') || '-']);
    lines.push('', table([['STEP', 'INSTANCE', 'REASON'], ...rows]));
  }
  for (const w of plan.warnings) lines.push(`warning: ${w}`);
  return `${lines.join('\n')}\n\n`;
}

export function stepsJson(plan: PlanView): unknown {
  return {
    operation: plan.operation,
    dry_run: true,
    steps: plan.steps.map((s) => ({
      id: s.id,
      kind: s.kind,
      instance: s.instance,
      depends_on: s.dependsOn,
      reasons: s.reasons,
      reason_codes: s.reasons.map(reasonCode),
    })),
    warnings: plan.warnings,
  };
}
