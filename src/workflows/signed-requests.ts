// The entity's side of signed requests (src/domain/permissions.ts): the digest a signature covers,
// and the nonces already accepted, so a captured request is refused when it comes again.
import { parseSignedRequest } from '../domain/permissions';
import { canonicalJson } from '../planner';
import { sha256Hex } from '../planner/hash';

/** sha256 of the request's canonical JSON, as the data converter delivers it (undefined members dropped). */
export function requestDigest(request: unknown): string {
  return sha256Hex(canonicalJson(request ?? null));
}

export interface NonceEntry {
  nonce: string;
  /** The request's expiry: after it the request is refused anyway, so its nonce may be forgotten. */
  expires: number;
}

/**
 * Accepted nonces, until their requests expire. Bounded: a request lives at most MAX_REQUEST_TTL_MS,
 * and when CAPACITY unexpired nonces are held the validator refuses new ones rather than forget one
 * that could still be replayed.
 */
export class NonceStore {
  static readonly CAPACITY = 256;

  constructor(readonly entries: NonceEntry[]) {}

  seen(nonce: string): boolean {
    return this.entries.some((e) => e.nonce === nonce);
  }

  /** Whether a new nonce fits once the expired ones are forgotten. */
  hasRoom(now: number): boolean {
    return this.entries.filter((e) => e.expires > now).length < NonceStore.CAPACITY;
  }

  /** Records an accepted request's nonce (from history, so replay records the same), forgetting expired ones. */
  remember(signed: unknown, now: number): void {
    const req = parseSignedRequest(signed);
    if (req === null) return;
    const kept = this.entries.filter((e) => e.expires > now);
    kept.push({ nonce: req.claim.nonce, expires: req.claim.expires });
    this.entries.splice(0, this.entries.length, ...kept);
  }
}
