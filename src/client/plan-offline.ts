// The work behind `converge plan`: load the inputs, plan against the snapshot (or an empty cloud),
// print. Kept apart from the command's registration so `converge --help` does not load the planner.
import type { VmStrategy } from '../domain/manifest';
import { formatPath, UserError, ValidationError } from '../domain/errors';
import {
  embodiment,
  patent,
  placementsFor,
  planJson,
  reconcile,
  snapshotSchema,
  type Snapshot,
} from '../planner/index';
import { EXIT } from './exit-codes';
import { loadDeploymentInputs, readInputFile } from './load';
import { renderPlan } from './render-plan';

export interface PlanOptions {
  cloudConfig: string;
  observed?: string;
  json?: boolean;
  recreate?: boolean;
  defaultStrategy?: string;
  showKeeps?: boolean;
  detailedExitcode?: boolean;
}

export function planOffline(manifestPath: string, opts: PlanOptions): void {
  const { manifest, cloudConfig } = loadDeploymentInputs(manifestPath, opts.cloudConfig);
  const snapshot = opts.observed === undefined ? emptySnapshot() : loadSnapshot(opts.observed);
  const defaultStrategy = strategyOption(opts.defaultStrategy ?? process.env.CONVERGE_DEFAULT_VM_STRATEGY);
  const thePatent = patent(manifest, cloudConfig, placementsFor(manifest, snapshot.instances), {
    defaultStrategy,
  });
  const obligation = reconcile(thePatent, embodiment(manifest.name, snapshot, snapshot.instances), {
    recreate: opts.recreate ?? false,
    defaultStrategy,
    operationSeq: 1,
    operationId: 'plan',
  });
  if (opts.json) {
    process.stdout.write(planJson(obligation));
    for (const w of obligation.warnings) process.stderr.write(`warning: ${w}\n`);
  } else {
    process.stdout.write(
      renderPlan(obligation, {
        showKeeps: opts.showKeeps ?? false,
        resourcePool: manifest.resource_pool,
      }),
    );
  }
  if (opts.detailedExitcode && obligation.steps.length > 0) process.exitCode = EXIT.changes;
}

function strategyOption(value: string | undefined): VmStrategy {
  const v = value?.trim();
  if (v === undefined || v === '') return 'delete_create';
  if (v === 'hot_swap' || v === 'delete_create') return v;
  throw new UserError(`--default-strategy: expected hot_swap or delete_create, got '${v}'`, 2);
}

const emptySnapshot = (): Snapshot => ({ servers: [], allocations: [], volumes: [], instances: [] });

/** The snapshot file, or a ValidationError naming the file and each bad field. */
export function loadSnapshot(path: string): Snapshot {
  const text = readInputFile(path, 'snapshot');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ValidationError(
      [{ path: '', line: null, column: null, message: `not JSON: ${why}`, hint: null }],
      path,
    );
  }
  const parsed = snapshotSchema.safeParse(data);
  if (!parsed.success) {
    throw new ValidationError(
      parsed.error.issues.map((i) => ({
        path: formatPath(i.path.filter((p): p is string | number => typeof p !== 'symbol')),
        line: null,
        column: null,
        message: i.message,
        hint: null,
      })),
      path,
    );
  }
  return parsed.data;
}
