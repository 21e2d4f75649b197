// Waiting for an operation to reach a point of its progress, for tests and scripts that act mid-way.
import type { Deployments } from '../../src/client/deployments';
import type { OperationTicket } from '../../src/workflows/types';

/** Resolves once the operation is enacting with at least one step in flight (polls its progress). */
export async function untilEnacting(d: Deployments, ticket: OperationTicket): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const p = await d.progress(ticket).catch(() => null);
    if (p?.phase === 'enacting' && p.inFlight.length > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${ticket.operation} never started enacting`);
}
