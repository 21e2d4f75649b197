// What an operation cost in Temporal: its runs (continue-as-new chain), events, history bytes,
// activities scheduled and the most activities pending at once. Read from the server's histories,
// walking the chain backwards through each run's first event, so visibility lag cannot hide a run.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';

export interface RunStats {
  runId: string;
  events: number;
  bytes: number;
  activities: number;
  /** Local activities (one marker event each): none: the cheap steps are regular activities (src/workflows/README.md). */
  localActivities: number;
  maxPendingActivities: number;
  /** The most activities of each type pending at once. */
  maxPendingByType: Record<string, number>;
  /** Workflow tasks completed in the run, and the longest one (started → completed), in ms. */
  workflowTasks: number;
  maxWorkflowTaskMs: number;
  /** Workflow tasks that failed or timed out (each costs a replay of the whole history). */
  failedWorkflowTasks: number;
}

/** Where an activity kind's time went: waiting for a worker (queue) and running (run), in ms. */
export interface ActivityTiming {
  count: number;
  queueP50: number;
  queueP95: number;
  runP50: number;
  runP95: number;
}

export interface ChainStats {
  runs: RunStats[];
  events: number;
  activities: number;
  localActivities: number;
  /** The longest run, in events and in bytes: what Temporal's per-run limits apply to. */
  maxRunEvents: number;
  maxRunBytes: number;
  maxPendingActivities: number;
  workflowTasks: number;
  maxWorkflowTaskMs: number;
  failedWorkflowTasks: number;
  /** Per activity type, over every run. */
  timing: Record<string, ActivityTiming>;
}

/** The marker Temporal's core SDK records for a completed local activity. */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** Every run of `workflowId`, newest first, with what each cost. */
export async function chainStats(client: Client, workflowId: string): Promise<ChainStats> {
  const runs: RunStats[] = [];
  const samples = new Map<string, { queue: number[]; run: number[] }>();
  let runId: string | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const handle = client.workflow.getHandle(workflowId, runId);
    const [description, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
    const events = history.events ?? [];
    let pending = 0;
    let maxPending = 0;
    const pendingByType = new Map<string, number>();
    const maxPendingByType: Record<string, number> = {};
    let activities = 0;
    let localActivities = 0;
    let workflowTasks = 0;
    let failedWorkflowTasks = 0;
    let maxWorkflowTaskMs = 0;
    let taskStartedAt = 0;
    const scheduled = new Map<string, { type: string; at: number }>();
    const started = new Map<string, number>();
    for (const e of events) {
      const at = millis(e.eventTime);
      if (e.workflowTaskStartedEventAttributes) taskStartedAt = at;
      if (e.workflowTaskFailedEventAttributes || e.workflowTaskTimedOutEventAttributes) failedWorkflowTasks++;
      if (e.workflowTaskCompletedEventAttributes) {
        workflowTasks++;
        maxWorkflowTaskMs = Math.max(maxWorkflowTaskMs, at - taskStartedAt);
      }
      if (e.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER) localActivities++;
      const scheduledAttrs = e.activityTaskScheduledEventAttributes;
      if (scheduledAttrs) {
        scheduled.set(String(e.eventId), { type: scheduledAttrs.activityType?.name ?? '?', at });
      }
      const startedAttrs = e.activityTaskStartedEventAttributes;
      if (startedAttrs) started.set(String(startedAttrs.scheduledEventId), at);
      const completedAttrs = e.activityTaskCompletedEventAttributes;
      if (completedAttrs) {
        const id = String(completedAttrs.scheduledEventId);
        const s = scheduled.get(id);
        const st = started.get(id);
        if (s && st !== undefined) {
          const bucket = samples.get(s.type) ?? { queue: [], run: [] };
          bucket.queue.push(st - s.at);
          bucket.run.push(at - st);
          samples.set(s.type, bucket);
        }
      }
      if (scheduledAttrs) {
        activities++;
        pending++;
        maxPending = Math.max(maxPending, pending);
        const type = scheduledAttrs.activityType?.name ?? '?';
        const n = (pendingByType.get(type) ?? 0) + 1;
        pendingByType.set(type, n);
        maxPendingByType[type] = Math.max(maxPendingByType[type] ?? 0, n);
      } else {
        const ended =
          e.activityTaskCompletedEventAttributes ??
          e.activityTaskFailedEventAttributes ??
          e.activityTaskTimedOutEventAttributes ??
          e.activityTaskCanceledEventAttributes;
        if (ended) {
          pending--;
          const type = scheduled.get(String(ended.scheduledEventId))?.type ?? '?';
          pendingByType.set(type, (pendingByType.get(type) ?? 1) - 1);
        }
      }
    }
    runs.push({
      runId: description.runId,
      events: events.length,
      bytes: description.historySize ?? 0,
      activities,
      localActivities,
      maxPendingActivities: maxPending,
      maxPendingByType,
      workflowTasks,
      maxWorkflowTaskMs,
      failedWorkflowTasks,
    });
    const previous = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!previous) break;
    runId = previous;
  }
  return {
    runs,
    events: sum(runs.map((r) => r.events)),
    activities: sum(runs.map((r) => r.activities)),
    localActivities: sum(runs.map((r) => r.localActivities)),
    maxRunEvents: Math.max(0, ...runs.map((r) => r.events)),
    maxRunBytes: Math.max(0, ...runs.map((r) => r.bytes)),
    maxPendingActivities: Math.max(0, ...runs.map((r) => r.maxPendingActivities)),
    workflowTasks: sum(runs.map((r) => r.workflowTasks)),
    maxWorkflowTaskMs: Math.max(0, ...runs.map((r) => r.maxWorkflowTaskMs)),
    failedWorkflowTasks: sum(runs.map((r) => r.failedWorkflowTasks)),
    timing: Object.fromEntries(
      [...samples].map(([type, b]) => [
        type,
        {
          count: b.run.length,
          queueP50: percentile(b.queue, 50),
          queueP95: percentile(b.queue, 95),
          runP50: percentile(b.run, 50),
          runP95: percentile(b.run, 95),
        },
      ]),
    ),
  };
}

export function millis(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!t) return 0;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Events in every run of the workflow so far (0 when it does not exist yet). */
export async function totalEvents(client: Client, workflowId: string): Promise<number> {
  try {
    return (await chainStats(client, workflowId)).events;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || /NOT_FOUND|not found/i.test(String(err))) return 0;
    throw err;
  }
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
