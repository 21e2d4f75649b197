// Replays the histories a live test just produced against the same workflow code, in-process. An
// operation's commands must not depend on the order in which concurrent results arrived: live and
// on replay those orders can differ (for local activities they did), and a worker that loses its
// cache (killed, restarted, evicted) replays. A mismatch is a nondeterminism error here.
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { dataConverter } from '../../src/temporal/data-converter';
import { testBundle } from './temporal';

export interface LiveRun {
  workflowId: string;
  runId: string;
}

/** The replay failure of each run that does not replay, as "workflowId/runId: message". */
export async function replayFailures(client: Client, runs: LiveRun[]): Promise<string[]> {
  const histories = await Promise.all(
    runs.map(async (r) => ({
      workflowId: r.workflowId,
      history: await client.workflow.getHandle(r.workflowId, r.runId).fetchHistory(),
    })),
  );
  const failures: string[] = [];
  const results = Worker.runReplayHistories(
    { workflowBundle: await testBundle(), dataConverter, replayName: 'live-replay' },
    histories,
  );
  let i = 0;
  for await (const result of results) {
    const run = runs[i++];
    if (result.error) failures.push(`${run?.workflowId}/${run?.runId}: ${result.error.message}`);
  }
  return failures;
}
