// `converge plan` for humans: per group, one line per instance (`+ create`, `~ replace (hot_swap)`,
// `- delete`, `= keep`) with every reason and a clear destructive mark; then cleanup, warnings,
// totals and the quota peak. Pure: text in, text out (the command prints it).
import { planSummary } from '../planner/plan-view';
import type { InstanceAction, InstancePlan, Obligation } from '../planner/types';

const SIGN: Record<InstanceAction, string> = { create: '+', replace: '~', delete: '-', keep: '=' };

const groupOf = (p: InstancePlan): string => p.instance.slice(0, p.instance.indexOf('/'));

function destructiveNote(p: InstancePlan): string {
  return p.action === 'delete'
    ? 'destructive: VM and disks deleted, IP released'
    : 'destructive: local disk lost, IP may change';
}

function instanceLines(p: InstancePlan, showKeeps: boolean): string[] {
  if (p.action === 'keep' && p.reasons.length === 0 && !showKeeps) return [];
  const what = p.action === 'replace' && p.strategy !== null ? `replace (${p.strategy})` : p.action;
  const lines = [`  ${SIGN[p.action]} ${what.padEnd(23)} ${p.claim ?? '(no claim)'}  ${p.instance}`];
  for (const r of p.reasons) lines.push(`      ${r}`);
  if (p.destructive) lines.push(`      ! ${destructiveNote(p)}`);
  return lines;
}

export function renderPlan(
  obligation: Obligation,
  opts: { showKeeps?: boolean; resourcePool?: string } = {},
): string {
  const s = planSummary(obligation);
  const lines: string[] = [];
  const pool = opts.resourcePool === undefined ? '' : ` (resource pool ${opts.resourcePool})`;
  if (obligation.steps.length === 0) {
    lines.push(
      `${obligation.deployment}${pool} is converged: ${s.keep} instance${s.keep === 1 ? '' : 's'} up to date, nothing to do.`,
    );
  } else {
    lines.push(`Plan for ${obligation.deployment}${pool}:`);
  }

  const byGroup = new Map<string, InstancePlan[]>();
  for (const p of obligation.instances) {
    const g = groupOf(p);
    const list = byGroup.get(g);
    if (list) list.push(p);
    else byGroup.set(g, [p]);
  }
  // A converged plan lists every instance; otherwise unchanged ones are counted, not listed.
  const showKeeps = opts.showKeeps ?? obligation.steps.length === 0;
  const policies = new Map(obligation.groups.map((g) => [g.name, g]));
  const order = [
    ...obligation.groups.map((g) => g.name),
    ...[...byGroup.keys()].filter((g) => !policies.has(g)).sort(),
  ];
  for (const name of order) {
    const plans = byGroup.get(name) ?? [];
    const body = plans.flatMap((p) => instanceLines(p, showKeeps));
    if (plans.length === 0) continue;
    const g = policies.get(name);
    const policy = g
      ? ` (${g.strategy}, canaries ${g.canaries}, max_in_flight ${g.maxInFlight}${g.serial ? ', serial' : ''})`
      : ' (removed from the manifest)';
    lines.push('', `${name}${policy}`, ...body);
    const hidden = plans.filter((p) => instanceLines(p, showKeeps).length === 0).length;
    if (hidden > 0) lines.push(`  = ${hidden} unchanged`);
  }

  // Steps of no instance: orphans and strays.
  const instances = new Set(obligation.instances.map((p) => p.instance));
  const cleanup = obligation.steps.filter((st) => st.group === '' && !instances.has(st.instance));
  if (cleanup.length > 0) {
    lines.push('', 'cleanup');
    for (const st of cleanup) lines.push(`  - ${st.summary}`, ...st.reasons.map((r) => `      ${r}`));
  }
  if (obligation.refusals.length > 0) {
    lines.push('', 'refused (nothing would start)');
    for (const r of obligation.refusals) lines.push(`  x ${r.message}`);
  }
  if (obligation.warnings.length > 0) {
    lines.push('', 'warnings');
    for (const w of obligation.warnings) lines.push(`  ! ${w}`);
  }

  const destructive = obligation.instances.filter((p) => p.destructive).length;
  const q = obligation.quotaPeak;
  lines.push(
    '',
    `Totals: ${s.create} create, ${s.replace} replace, ${s.delete} delete, ${s.keep} keep; ` +
      `${obligation.steps.length} step${obligation.steps.length === 1 ? '' : 's'}` +
      (destructive > 0 ? `, ${destructive} destructive` : ''),
    `Quota peak: ${q.cpus} cpus, ${q.memory_mb} memory_mb, ${q.instances} instances`,
  );
  return `${lines.join('\n')}\n`;
}
