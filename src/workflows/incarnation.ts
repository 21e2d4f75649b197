// The incarnation of a deployment entity: which run chain of `deployment/<name>` this is. A deployment
// deleted and deployed again starts a new run at op-1, so `op-N` alone does not name an operation for
// good: idempotency keys and new instance uuids also carry the incarnation, or the second incarnation
// would ask the region for the first one's (deleted) allocations and servers and get 410 Gone.
import { sha256Hex } from '../planner/hash';

/**
 * A short, stable name for the run chain: 8 hex digits of a hash of its first run id. Not a prefix of
 * the run id: Temporal's run ids are time-ordered (UUIDv7), so runs a minute apart share their prefix.
 */
export function incarnationOf(firstExecutionRunId: string): string {
  return sha256Hex(firstExecutionRunId).slice(0, 8);
}

/**
 * The operation component of idempotency keys and the `converge.operation` tag: `op-N@<incarnation>`,
 * or plain `op-N` for operations started without an incarnation (histories recorded before it).
 * The human-facing name (ticket, workflow id, UI) stays `op-N`.
 */
export function keyedOperation(input: { operation: string; incarnation?: string }): string {
  return input.incarnation === undefined ? input.operation : `${input.operation}@${input.incarnation}`;
}

/** The human-facing operation name in a `converge.operation` tag (`op-N@<incarnation>` → `op-N`). */
export function operationNameOf(tag: string): string {
  const at = tag.indexOf('@');
  return at < 0 ? tag : tag.slice(0, at);
}
