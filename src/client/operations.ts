// A deployment's operations, newest first, as BOSH's `tasks`: kind, result, duration, steps. Read from
// Temporal's visibility (the operation workflows carry the ConvergeDeployment search attribute) and
// each operation's result or live progress; nothing here writes.
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { progressQuery, SEARCH_ATTRIBUTES } from '../workflows/messages';
import type { OperationKind, OperationResult } from '../workflows/types';
import { table } from './render-operation';

export interface OperationSummary {
  workflowId: string;
  /** `op-<seq>` style id from the result or progress; the workflow id's tail otherwise. */
  operation: string;
  kind: OperationKind | null;
  /** converged, failed, cancelled, planned; running; or the workflow's own end (terminated, timed out). */
  result: string;
  startedAt: Date;
  /** Null while running. */
  endedAt: Date | null;
  durationMs: number | null;
  stepsDone: number | null;
  stepsTotal: number | null;
}

/** Operations of `deployment`, newest first, at most `limit` (continue-as-new runs count as one). */
export async function listOperations(
  client: Client,
  deployment: string,
  limit = 20,
): Promise<OperationSummary[]> {
  const query = `WorkflowType = 'operation' AND ${SEARCH_ATTRIBUTES.deployment} = '${deployment.replace(/'/g, "\\'")}'`;
  // Runs of one operation (continue-as-new) share its workflow id: the first start, the last run's end.
  const chains = new Map<string, WorkflowExecutionInfo[]>();
  for await (const run of client.workflow.list({ query })) {
    const runs = chains.get(run.workflowId) ?? [];
    runs.push(run);
    chains.set(run.workflowId, runs);
  }
  const newestFirst = [...chains.values()]
    .map((runs) => runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime()))
    .sort((a, b) => b[0]!.startTime.getTime() - a[0]!.startTime.getTime())
    .slice(0, limit);
  return Promise.all(newestFirst.map((runs) => summarize(client, runs)));
}

async function summarize(client: Client, runs: WorkflowExecutionInfo[]): Promise<OperationSummary> {
  const first = runs[0]!;
  const last = runs[runs.length - 1]!;
  const handle = client.workflow.getHandle(first.workflowId);
  const base = {
    workflowId: first.workflowId,
    operation: first.workflowId.split('/').at(-1) ?? first.workflowId,
    startedAt: first.startTime,
    endedAt: last.closeTime ?? null,
    durationMs: last.closeTime ? last.closeTime.getTime() - first.startTime.getTime() : null,
  };
  const status = last.status.name;
  if (status === 'RUNNING') {
    const p = await handle.query(progressQuery).catch(() => null);
    return {
      ...base,
      operation: p?.operation ?? base.operation,
      kind: p?.kind ?? null,
      result: 'running',
      stepsDone: p?.stepsDone ?? null,
      stepsTotal: p?.stepsTotal ?? null,
    };
  }
  if (status === 'COMPLETED') {
    // The close event only (one small read), not the history.
    const r = (await handle.result().catch(() => null)) as OperationResult | null;
    if (r !== null) {
      return {
        ...base,
        operation: r.operation,
        kind: r.kind,
        result: r.status,
        stepsDone: r.stepsDone,
        stepsTotal: r.stepsTotal,
      };
    }
  }
  return {
    ...base,
    kind: null,
    result: status.toLowerCase().replace(/_/g, ' '),
    stepsDone: null,
    stepsTotal: null,
  };
}

/** Seconds with one decimal under a minute, else m:ss. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export function renderOperations(ops: OperationSummary[]): string {
  if (ops.length === 0) return 'No operations.';
  const rows = [
    ['OPERATION', 'KIND', 'RESULT', 'STARTED', 'DURATION', 'STEPS'],
    ...ops.map((o) => [
      o.operation,
      o.kind ?? '-',
      o.result,
      o.startedAt
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z'),
      formatDuration(o.durationMs),
      o.stepsTotal === null ? '-' : `${o.stepsDone ?? 0}/${o.stepsTotal}`,
    ]),
  ];
  return table(rows);
}
