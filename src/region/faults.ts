// Fault injection: how slow and how unreliable the region pretends to be. Held in memory (set by flags at
// start, changed by PUT /v1/admin/faults); a build's fate is decided when it is created and stored with it.
import { z } from 'zod';
import type { Faults } from '../cloud/port';

export const DEFAULT_FAULTS: Faults = {
  latency_ms: 0,
  build_ms: 1000,
  delete_ms: 300,
  error_rate: 0,
  error_build_rate: 0,
  stuck_build_rate: 0,
};

const ms = z.number().int().min(0).max(3_600_000);
const rate = z.number().min(0).max(1);

export const faultsPatchSchema = z.strictObject({
  latency_ms: ms.optional(),
  build_ms: ms.optional(),
  delete_ms: ms.optional(),
  error_rate: rate.optional(),
  error_build_rate: rate.optional(),
  stuck_build_rate: rate.optional(),
});

/** What a new build will end in. */
export type BuildFate = 'ACTIVE' | 'ERROR' | 'STUCK';

export function buildFate(faults: Faults, random: () => number = Math.random): BuildFate {
  const r = random();
  if (r < faults.error_build_rate) return 'ERROR';
  if (r < faults.error_build_rate + faults.stuck_build_rate) return 'STUCK';
  return 'ACTIVE';
}
