// The benchmark's markdown table: one row per scenario, the same columns for the planner and the
// deployments (the planner has no worker or server, so those cells are empty).
import type { PlannerBenchRow } from '../bench-planner';
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
