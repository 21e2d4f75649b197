// Idempotency keys: derived from deployment + claim + operation, never from randomness, so a retried
// activity (or a replayed workflow) asks the cloud for the same allocation and the same server again.

export interface ClaimOperation {
  deployment: string;
  claim: string;
  operation: string;
}

/** One allocation per claim per operation. */
export function allocationKey(ref: ClaimOperation): string {
  return `${ref.deployment}/${ref.claim}/${ref.operation}`;
}

/** One server per build attempt: attempt n+1 is only tried once server n is gone (ERROR or stuck). */
export function serverKey(ref: ClaimOperation, attempt: number): string {
  return `${allocationKey(ref)}/${attempt}`;
}
