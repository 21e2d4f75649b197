// The benchmark's markdown table: one row per scenario, the same columns for the planner and the
// deployments (the planner has no worker or server, so those cells are empty).
import type { PlannerBenchRow } from '../bench-planner';
import { ACTION_KINDS } from './actions';
import type { DeployRow } from './harness';

const HEAD = [
  'scenario',
  'instances',
  'status',
  'wall',
  'ideal',
  'ratio',
  'events/inst',
  'activities/inst',
  'actions/inst',
  'worker peak RSS',
  'Temporal CPU',
];

export function markdownTable(planner: readonly PlannerBenchRow[], deploy: readonly DeployRow[]): string {
  const rows: string[][] = [
    ...planner.map((r) => [
      `planner ${r.scenario}`,
      count(r.instances),
      `${count(r.steps)} steps`,
      ms(r.medianMs),
      '–',
      '–',
      '–',
      '–',
      '–',
      `(heap +${r.heapPeakMb.toFixed(0)} MB)`,
      '–',
    ]),
    ...deploy.map((r) => [
      r.scenario,
      count(r.instances),
      r.status.length > 40 ? `${r.status.slice(0, 39)}…` : r.status,
      r.wallMs === null ? '–' : ms(r.wallMs),
      r.idealMs === null ? '–' : ms(r.idealMs),
      r.ratio === null ? '–' : `${r.ratio.toFixed(2)}×`,
      r.eventsPerInstance === null ? '–' : r.eventsPerInstance.toFixed(2),
      r.activitiesPerInstance === null ? '–' : r.activitiesPerInstance.toFixed(2),
      r.actionsPerInstance === null ? '–' : r.actionsPerInstance.toFixed(2),
      r.workerPeakRssMb === null ? '–' : `${r.workerPeakRssMb.toFixed(0)} MB`,
      r.temporalCpuS === null ? '–' : `${r.temporalCpuS.toFixed(1)} s`,
    ]),
  ];
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(HEAD), line(HEAD.map((_, i) => (i < 3 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

/** The limits the issue names, per deployment scenario: how close each came. */
export function limitsTable(deploy: readonly DeployRow[]): string {
  const head = [
    'scenario',
    'op runs',
    'max events/run',
    'max MB/run',
    'max pending activities',
    'workflow tasks (failed)',
    'longest task',
    'worker CPU',
    'region CPU',
  ];
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [
    line(head),
    line(head.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...deploy
      .filter((r) => r.operationRuns !== null)
      .map((r) =>
        line([
          r.scenario,
          String(r.operationRuns ?? '–'),
          `${count(r.maxRunEvents ?? 0)} / 51,200`,
          `${((r.maxRunBytes ?? 0) / 2 ** 20).toFixed(1)} / 50`,
          `${r.maxPendingActivities ?? 0} / 2,000`,
          `${r.workflowTasks ?? '–'} (${r.failedWorkflowTasks ?? 0})`,
          `${r.maxWorkflowTaskMs ?? 0} ms`,
          `${(r.workerCpuS ?? 0).toFixed(1)} s`,
          `${(r.regionCpuS ?? 0).toFixed(1)} s`,
        ]),
      ),
  ].join('\n');
}

function ms(v: number): string {
  return v >= 10_000
    ? `${(v / 1000).toFixed(1)} s`
    : v >= 1000
      ? `${(v / 1000).toFixed(2)} s`
      : `${v.toFixed(v < 10 ? 1 : 0)} ms`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** Per scenario and activity type: queued (scheduled → started) and running time, p50 / p95. */
export function timingTable(deploy: readonly DeployRow[]): string {
  const head = ['scenario', 'activity', 'count', 'queued p50 / p95', 'running p50 / p95'];
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const rows: string[] = [];
  for (const r of deploy) {
    for (const [type, t] of Object.entries(r.activityTiming ?? {})) {
      rows.push(
        line([
          r.scenario,
          type,
          String(t.count),
          `${t.queueP50} / ${t.queueP95} ms`,
          `${t.runP50} / ${t.runP95} ms`,
        ]),
      );
    }
  }
  return [line(head), line(head.map((_, i) => (i < 2 ? '---' : '---:'))), ...rows].join('\n');
}

/**
 * Temporal Cloud Actions per instance by kind (actions.ts), heartbeats that reached the server, the
 * total per instance, and the waiting client's queries (billed too, but the watcher's, not the
 * operation's; the harness polls status every 50 ms while it settles).
 */
export function actionsTable(deploy: readonly DeployRow[]): string {
  const rows = deploy.filter((r) => r.actions !== null);
  const kinds = ACTION_KINDS.filter((k) => rows.some((r) => (r.actions?.[k] ?? 0) > 0));
  const head = ['scenario', 'instances', ...kinds, 'heartbeats', 'total/inst', 'total', 'client queries'];
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const per = (n: number, r: DeployRow): string => (n / r.instances).toFixed(3);
  return [
    line(head),
    line(head.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...rows.map((r) => {
      const a = r.actions;
      if (a === null) return line([r.scenario]);
      const total = ACTION_KINDS.reduce((n, k) => n + a[k], 0) + (r.heartbeats ?? 0);
      return line([
        r.scenario,
        count(r.instances),
        ...kinds.map((k) => per(a[k], r)),
        per(r.heartbeats ?? 0, r),
        (r.actionsPerInstance ?? 0).toFixed(2),
        count(total),
        count(r.queries ?? 0),
      ]);
    }),
  ].join('\n');
}

/** A fleet's deployments: wall of the last, and the fastest, median and slowest one. */
export function fleetLines(deploy: readonly DeployRow[]): string {
  return deploy
    .filter((r) => r.fleet !== null)
    .map((r) => {
      const f = r.fleet;
      if (f === null) return '';
      return (
        `${r.scenario}: ${f.deployments} deployments at once, all done in ${r.wallMs === null ? '–' : ms(r.wallMs)}; ` +
        `per deployment fastest ${ms(f.fastestMs)}, median ${ms(f.medianMs)}, slowest ${ms(f.slowestMs)} (${f.slowest})`
      );
    })
    .join('\n');
}
