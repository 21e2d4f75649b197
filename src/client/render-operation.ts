// Human output for operations: a live progress line, results and status tables (plans: render-plan.ts).
import type { DeploymentStatus, OperationProgress, OperationResult, StatusRow } from '../workflows/types';

export function progressLine(p: OperationProgress, width = 30): string {
  const total = Math.max(p.stepsTotal, 1);
  const filled = Math.round((p.stepsDone / total) * width);
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  const current = p.inFlight[0]?.summary ?? '';
  const more = p.inFlight.length > 1 ? ` (+${p.inFlight.length - 1})` : '';
  const cancel = p.cancelRequested ? ' [cancelling]' : '';
  // A wait shows instead of the step it holds: what a person watching needs is why it is slow.
  const waiting = p.waiting?.[0];
  const now = waiting ? `waiting: ${waiting.line}` : `${current}${more}`;
  return `[${bar}] ${p.stepsDone}/${p.stepsTotal} ${p.phase}${cancel} ${now}`.trimEnd();
}

export function renderResult(r: OperationResult): string {
  const lines = [
    `${r.kind} ${r.deployment} (${r.operation}): ${r.status.toUpperCase()}, ${r.stepsDone}/${r.stepsTotal} steps`,
  ];
  if (r.failure) lines.push(`  failed${r.failure.step ? ` at ${r.failure.step}` : ''}: ${r.failure.message}`);
  if (r.remaining.length) {
    lines.push(
      `  remaining steps (${r.remaining.length}): ${r.remaining.slice(0, 8).join(', ')}${r.remaining.length > 8 ? ', …' : ''}`,
    );
  }
  return lines.join('\n');
}

export function renderInstances(rows: StatusRow[]): string {
  const header = ['INSTANCE', 'AZ', 'STATE', 'VM', 'VM STATE', 'IPS', 'MACS', 'POWER', 'HEALTH'];
  const body = rows.map((r) => [
    r.instance,
    r.az,
    r.state,
    r.vm ?? '-',
    r.vm_state ?? '-',
    r.ips.join(',') || '-',
    r.macs.join(',') || '-',
    r.power ?? '-',
    r.health ?? '-',
  ]);
  return table([header, ...body]);
}

export function renderStatus(s: DeploymentStatus): string {
  const lines = [`Deployment ${s.deployment}${s.deleted ? ' (deleted)' : ''}: ${s.phase}`];
  if (s.current)
    lines.push(`Current operation: ${s.current.operation} (${s.current.kind}) ${s.current.workflowId}`);
  for (const w of s.progress?.waiting ?? []) lines.push(`  waiting: ${w.line}`);
  if (s.manifestDigest) lines.push(`Manifest digest: ${s.manifestDigest}`);
  lines.push('', renderInstances(s.instances));
  if (s.recent.length) {
    lines.push('', 'Recent operations:');
    for (const r of s.recent.slice(0, 5)) {
      lines.push(`  ${r.operation} ${r.kind} ${r.status}${r.failure ? `: ${r.failure.message}` : ''}`);
    }
  }
  return lines.join('\n');
}

/** Left-aligned columns two spaces apart, the first row a header. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
