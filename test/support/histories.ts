// Histories as the server stores them (no codec at all), for tests that look for what must not be there.
import { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { temporalNamespace, testConnection } from './temporal';

const History = proto.temporal.api.history.v1.History;

export /** Every history on the task queue, as the server stores it (no codec at all). */
async function rawHistories(taskQueue: string): Promise<Map<string, proto.temporal.api.history.v1.IHistory>> {
  const connection = await testConnection();
  const plain = new Client({ connection, namespace: temporalNamespace() });
  const out = new Map<string, proto.temporal.api.history.v1.IHistory>();
  for await (const wf of plain.workflow.list({ query: `TaskQueue = "${taskQueue}"` })) {
    const events: proto.temporal.api.history.v1.IHistoryEvent[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await connection.workflowService.getWorkflowExecutionHistory({
        namespace: temporalNamespace(),
        execution: { workflowId: wf.workflowId, runId: wf.runId },
        ...(nextPageToken ? { nextPageToken } : {}),
      });
      events.push(...(page.history?.events ?? []));
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    out.set(`${wf.workflowId}/${wf.runId}`, { events });
  }
  return out;
}

/** A history's bytes as the server keeps them, as latin1 text (to search for a string). */
export function rawText(history: proto.temporal.api.history.v1.IHistory): string {
  return Buffer.from(History.encode(history).finish()).toString('latin1');
}
