// What an operation cost in Temporal: its runs (continue-as-new chain), events, history bytes,
// activities scheduled and the most activities pending at once. Read from the server's histories,
// walking the chain backwards through each run's first event, so visibility lag cannot hide a run.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';

export interface RunStats {
  runId: string;
  events: number;
  bytes: number;
  activities: number;
  maxPendingActivities: number;
}

export interface ChainStats {
  runs: RunStats[];
  events: number;
  activities: number;
  /** The longest run, in events and in bytes: what Temporal's per-run limits apply to. */
  maxRunEvents: number;
  maxRunBytes: number;
  maxPendingActivities: number;
}

/** Every run of `workflowId`, newest first, with what each cost. */
export async function chainStats(client: Client, workflowId: string): Promise<ChainStats> {
  const runs: RunStats[] = [];
  let runId: string | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const handle = client.workflow.getHandle(workflowId, runId);
    const [description, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
    const events = history.events ?? [];
    let pending = 0;
    let maxPending = 0;
    let activities = 0;
    for (const e of events) {
      if (e.activityTaskScheduledEventAttributes) {
        activities++;
        pending++;
        maxPending = Math.max(maxPending, pending);
      } else if (
        e.activityTaskCompletedEventAttributes ||
        e.activityTaskFailedEventAttributes ||
        e.activityTaskTimedOutEventAttributes ||
        e.activityTaskCanceledEventAttributes
      ) {
        pending--;
      }
    }
    runs.push({
      runId: description.runId,
      events: events.length,
      bytes: description.historySize ?? 0,
      activities,
      maxPendingActivities: maxPending,
    });
    const previous = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!previous) break;
    runId = previous;
  }
  return {
    runs,
    events: sum(runs.map((r) => r.events)),
    activities: sum(runs.map((r) => r.activities)),
    maxRunEvents: Math.max(0, ...runs.map((r) => r.events)),
    maxRunBytes: Math.max(0, ...runs.map((r) => r.bytes)),
    maxPendingActivities: Math.max(0, ...runs.map((r) => r.maxPendingActivities)),
  };
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
