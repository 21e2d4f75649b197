// What an operation costs on Temporal Cloud, in billable Actions, counted from the recorded histories
// of every workflow of the deployment (the entity, the operation, any continue-as-new run), by
// Temporal Cloud's definition (docs.temporal.io/cloud/actions):
//   workflow started (client start, continue-as-new; de-duplicated starts are not recorded), child
//   workflow (2: the start and the execution), activity scheduled, activity retried (an attempt after
//   the first), timer started, signal received, update accepted, search-attribute upsert (one per
//   command; TemporalChangeVersion alone is exempt), local activities (one per workflow task that
//   recorded any), workflow execution options updated.
// Not in a history, so not counted here: heartbeats that reached the server and queries (the harness
// reads both from the dev server's request metrics, see serverRequests in stack.ts), rejected updates.
import type { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export const ACTION_KINDS = [
  'workflow_started',
  'continue_as_new',
  'child_workflow',
  'activity',
  'activity_retry',
  'local_activities',
  'timer',
  'signal',
  'update',
  'search_attributes',
  'options_updated',
] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];
export type ActionCounts = Record<ActionKind, number>;

const LOCAL_ACTIVITY_MARKER = 'core_local_activity';
const CHANGE_VERSION = 'TemporalChangeVersion';

export function noActions(): ActionCounts {
  return Object.fromEntries(ACTION_KINDS.map((k) => [k, 0])) as ActionCounts;
}

export function totalActions(c: ActionCounts): number {
  return ACTION_KINDS.reduce((n, k) => n + c[k], 0);
}

export function addActions(a: ActionCounts, b: ActionCounts, sign = 1): ActionCounts {
  const out = noActions();
  for (const k of ACTION_KINDS) out[k] = a[k] + sign * b[k];
  return out;
}

/** The billable Actions one run's history records. */
export function historyActions(events: readonly HistoryEvent[]): ActionCounts {
  const c = noActions();
  // Local activity markers of one workflow task are one Action together.
  const tasksWithLocalActivities = new Set<string>();
  for (const e of events) {
    const started = e.workflowExecutionStartedEventAttributes;
    if (started) {
      // A child's first start is billed to its parent's StartChildWorkflowExecutionInitiated (2
      // Actions); its continue-as-new runs keep the parent but are starts of their own.
      if (started.continuedExecutionRunId) c.continue_as_new++;
      else if (!started.parentWorkflowExecution?.workflowId) c.workflow_started++;
    }
    if (e.startChildWorkflowExecutionInitiatedEventAttributes) c.child_workflow += 2;
    if (e.activityTaskScheduledEventAttributes) c.activity++;
    // Only an attempt's end records its start, with the attempt number: earlier attempts were retries.
    const attempt = e.activityTaskStartedEventAttributes?.attempt;
    if (attempt && attempt > 1) c.activity_retry += attempt - 1;
    if (e.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER)
      tasksWithLocalActivities.add(String(e.markerRecordedEventAttributes.workflowTaskCompletedEventId));
    if (e.timerStartedEventAttributes) c.timer++;
    if (e.workflowExecutionSignaledEventAttributes) c.signal++;
    if (e.workflowExecutionUpdateAcceptedEventAttributes) c.update++;
    const upsert = e.upsertWorkflowSearchAttributesEventAttributes;
    if (upsert) {
      const keys = Object.keys(upsert.searchAttributes?.indexedFields ?? {});
      if (!(keys.length === 1 && keys[0] === CHANGE_VERSION)) c.search_attributes++;
    }
    if (e.workflowExecutionOptionsUpdatedEventAttributes) c.options_updated++;
  }
  c.local_activities = tasksWithLocalActivities.size;
  return c;
}

/** Per run (`workflowId/runId`): its Actions so far, and whether it had closed. */
export type ActionLedger = Map<string, { actions: ActionCounts; closed: boolean }>;

/**
 * Every run of every workflow of the deployment with its Actions: the runs visibility lists under
 * `ConvergeDeployment = name`, plus each listed workflow's continue-as-new chain walked back from its
 * newest run (visibility may lag behind a run that just started). Runs closed in `known` are not
 * fetched again: their histories cannot change.
 */
export async function deploymentActions(
  client: Client,
  deployment: string,
  alsoWorkflowIds: readonly string[],
  known: ActionLedger = new Map(),
): Promise<ActionLedger> {
  const ledger: ActionLedger = new Map();
  const workflowIds = new Set(alsoWorkflowIds);
  const runs: Array<{ workflowId: string; runId: string }> = [];
  for await (const w of client.workflow.list({ query: `ConvergeDeployment = "${deployment}"` })) {
    workflowIds.add(w.workflowId);
    runs.push({ workflowId: w.workflowId, runId: w.runId });
  }
  const count = async (workflowId: string, runId: string): Promise<string | null> => {
    const key = `${workflowId}/${runId}`;
    if (ledger.has(key)) return null;
    const before = known.get(key);
    if (before?.closed) {
      ledger.set(key, before);
      return null;
    }
    const handle = client.workflow.getHandle(workflowId, runId);
    const [description, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
    const events = history.events ?? [];
    ledger.set(key, { actions: historyActions(events), closed: description.status.name !== 'RUNNING' });
    return events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? null;
  };
  for (const id of workflowIds) {
    let runId: string | null;
    try {
      runId = (await client.workflow.getHandle(id).describe()).runId;
    } catch {
      continue; // not started (yet)
    }
    for (let guard = 0; runId && guard < 1000; guard++) runId = await count(id, runId);
  }
  for (const r of runs) await count(r.workflowId, r.runId);
  return ledger;
}

/** The Actions recorded between two ledgers of the same deployments (`after` ⊇ `before`). */
export function actionsBetween(before: ActionLedger, after: ActionLedger): ActionCounts {
  let sum = noActions();
  for (const [key, run] of after) {
    const was = before.get(key);
    sum = addActions(sum, was ? addActions(run.actions, was.actions, -1) : run.actions);
  }
  return sum;
}
