// The worker's own settings, handed to operations through an activity so that each operation records
// (in its history) the settings it started with and finishes on them, whatever later workers say.
import type { Env } from '../temporal/connection';
import type { WorkerSettings, WorkerSettingsActivity } from '../domain/activities';
import type { CloudKind } from '../domain/cloud-target';

/**
 * CONVERGE_DEFAULT_VM_STRATEGY: the update strategy for groups whose manifest chooses none.
 * Off by default (delete_create), as Heat kept its new convergence path behind a flag.
 */
export function workerSettingsFromEnv(env: Env, cloud?: CloudKind): WorkerSettings {
  const raw = env.CONVERGE_DEFAULT_VM_STRATEGY?.trim();
  const where = cloud === undefined ? {} : { cloud };
  if (raw === undefined || raw === '') return { defaultStrategy: 'delete_create', ...where };
  if (raw !== 'hot_swap' && raw !== 'delete_create') {
    throw new Error(`CONVERGE_DEFAULT_VM_STRATEGY: expected hot_swap or delete_create, got '${raw}'`);
  }
  return { defaultStrategy: raw, ...where };
}

export function settingsActivity(settings: WorkerSettings): WorkerSettingsActivity {
  return { workerSettings: () => Promise.resolve(settings) };
}
