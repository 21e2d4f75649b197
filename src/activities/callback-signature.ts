// How a callback is signed, and how a receiver checks it: HMAC-SHA256 over `<timestamp>.<body>` with
// the worker's callback secret (docs/callbacks.md). The timestamp is in the signed text, so a receiver
// that refuses old timestamps refuses replays too.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const CALLBACK_HEADERS = {
  /** Stable per event, the same on every redelivery: receivers dedupe on it. */
  eventId: 'Converge-Event-Id',
  eventType: 'Converge-Event-Type',
  /** Unix seconds when this attempt was sent (not when the event happened: that is `at` in the body). */
  timestamp: 'Converge-Timestamp',
  /** `sha256=<hex>` of HMAC-SHA256(secret, `<timestamp>.<body>`). */
  signature: 'Converge-Signature',
} as const;

const PREFIX = 'sha256=';

/** The signature header's value for `body` sent at `timestamp` (unix seconds). */
export function signCallback(secret: Uint8Array, timestamp: number, body: string): string {
  return PREFIX + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * What a receiver does: recompute and compare in constant time, and refuse timestamps further than
 * `toleranceS` from `nowS`. Used by the tests; docs/callbacks.md shows the same in ten lines.
 */
export function verifyCallback(
  secret: Uint8Array,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: string,
  nowS: number,
  toleranceS = 300,
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(nowS - timestamp) > toleranceS) return false;
  const expected = Buffer.from(signCallback(secret, timestamp, body));
  const given = Buffer.from(headers.signature ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
