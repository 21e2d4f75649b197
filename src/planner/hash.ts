// Hashing for the planner: pure JS (@noble/hashes), so workflows can call it inside Temporal's sandbox.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}

/**
 * A uuid-shaped id derived from its inputs, never from randomness: the same operation planning the
 * same claim names the same new instance, so a replayed or re-planned operation agrees with itself.
 * Shaped as an RFC 9562 version-8 (custom) uuid: version nibble 8, variant bits 10.
 */
export function derivedUuid(...parts: string[]): string {
  const hex = sha256Hex(parts.join('\u0000'));
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  // join, not a template: it yields one flat string, which later Map lookups and comparisons need
  // (a template of slices is a rope that V8 walks again on every use).
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    `8${hex.slice(13, 16)}`,
    variant + hex.slice(17, 20),
    hex.slice(20, 32),
  ].join('-');
}
