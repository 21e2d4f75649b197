// The work behind `converge plan` without -d: plan against the snapshot (or an empty cloud). Kept
// apart from the command's registration so `converge --help` does not load the planner.
import type { CloudConfig } from '../domain/cloud-config';
import type { Manifest, VmStrategy } from '../domain/manifest';
import { UserError, ValidationError } from '../domain/errors';
import { checkDocument, readYamlDocument } from '../domain/load';
import {
  dynamicAddresses,
  embodiment,
  patent,
  placementsFor,
  reconcile,
  snapshotSchema,
  type Snapshot,
} from '../planner/index';
import { readInputFile } from './load';
import { offlineDocument, type PlanDocument } from './render-plan';

export interface PlanOptions {
  cloudConfig: string;
  observed?: string;
  json?: boolean;
  recreate?: boolean;
  defaultStrategy?: string;
  showKeeps?: boolean;
  detailedExitcode?: boolean;
}

export function planOffline(
  { manifest, cloudConfig }: { manifest: Manifest; cloudConfig: CloudConfig },
  opts: PlanOptions,
): PlanDocument {
  const snapshot = opts.observed === undefined ? emptySnapshot() : loadSnapshot(opts.observed);
  const defaultStrategy = strategyOption(opts.defaultStrategy ?? process.env.CONVERGE_DEFAULT_VM_STRATEGY);
  const thePatent = patent(manifest, cloudConfig, placementsFor(manifest, snapshot.instances), {
    defaultStrategy,
  });
  const embodied = embodiment(manifest.name, snapshot, snapshot.instances);
  const obligation = reconcile(thePatent, embodied, {
    recreate: opts.recreate ?? false,
    defaultStrategy,
    operationSeq: 1,
    operationId: 'plan',
    dynamicAddresses: dynamicAddresses(cloudConfig),
  });
  const source =
    opts.observed === undefined
      ? ({ kind: 'offline' } as const)
      : ({ kind: 'snapshot', file: opts.observed } as const);
  return offlineDocument(obligation, thePatent, manifest, cloudConfig, source, embodied);
}

function strategyOption(value: string | undefined): VmStrategy {
  const v = value?.trim();
  if (v === undefined || v === '') return 'delete_create';
  if (v === 'hot_swap' || v === 'delete_create') return v;
  throw new UserError(`--default-strategy: expected hot_swap or delete_create, got '${v}'`, 2);
}

const emptySnapshot = (): Snapshot => ({ servers: [], allocations: [], volumes: [], instances: [] });

/** The snapshot file, or a ValidationError naming the file, each bad field and its line. */
export function loadSnapshot(path: string): Snapshot {
  // JSON is YAML: the YAML reader keeps every node's position, so problems carry file:line:column.
  const doc = readYamlDocument(readInputFile(path, 'snapshot'), path);
  const checked = checkDocument(doc, snapshotSchema, () => []);
  if (checked.value === null || checked.problems.length > 0)
    throw new ValidationError(checked.problems, path);
  return checked.value;
}
