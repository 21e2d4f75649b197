// The search attributes a namespace must have before Converge's workflows can run in it: the
// workflows upsert them, and the server fails every workflow task that upserts an unregistered one
// (BadSearchAttributes), over and over. Named once here for the dev server's start flags, namespace
// preparation (`converge namespace prepare`), the worker's start check and the CLI's error. Pure:
// what is registered comes in as a map; the operator calls live in namespace-setup.ts.
import { SEARCH_ATTRIBUTE_NAMES } from '../domain/search-attributes';

/** The attribute type, as the Temporal CLI spells it (`--type Keyword`). */
export const SEARCH_ATTRIBUTE_TYPE = 'Keyword';

/** Keyword search attributes the workflows upsert (DESIGN §5, UI). */
export const SEARCH_ATTRIBUTES = Object.values(SEARCH_ATTRIBUTE_NAMES);

/** `--search-attribute Name=Keyword` pairs for `temporal server start-dev`. */
export function searchAttributeArgs(): string[] {
  return SEARCH_ATTRIBUTES.flatMap((name) => ['--search-attribute', `${name}=${SEARCH_ATTRIBUTE_TYPE}`]);
}

/** One attribute registered under Converge's name with another type: Converge cannot use it. */
export interface TypeClash {
  name: string;
  /** The registered type, as the Temporal CLI spells it (`Text`, `Int`, …). */
  registered: string;
}

/** What a namespace lacks for Converge; both empty: ready. */
export interface NamespaceGaps {
  missing: string[];
  clashes: TypeClash[];
}

/**
 * Compares what a namespace has registered (name → type, as the Temporal CLI spells types) with
 * what Converge needs. Order follows SEARCH_ATTRIBUTES, so messages are stable.
 */
export function namespaceGaps(registered: ReadonlyMap<string, string>): NamespaceGaps {
  const missing: string[] = [];
  const clashes: TypeClash[] = [];
  for (const name of SEARCH_ATTRIBUTES) {
    const type = registered.get(name);
    if (type === undefined) missing.push(name);
    else if (type !== SEARCH_ATTRIBUTE_TYPE) clashes.push({ name, registered: type });
  }
  return { missing, clashes };
}

export function isReady(gaps: NamespaceGaps): boolean {
  return gaps.missing.length === 0 && gaps.clashes.length === 0;
}

/** Where the commands printed for an operator point: the namespace and the frontend address. */
export interface NamespaceTarget {
  namespace: string;
  address: string;
}

/** Temporal Cloud namespaces register search attributes through tcld or the Cloud UI, not the operator API. */
export function isTemporalCloud(address: string): boolean {
  const host = address.replace(/:\d+$/, '').toLowerCase();
  return host.endsWith('.tmprl.cloud') || host.endsWith('.api.temporal.io');
}

/**
 * The one command that registers `names`, for someone with the rights to run it: the Temporal CLI's
 * `operator search-attribute create`, or on Temporal Cloud `tcld namespace search-attributes add`.
 */
export function registerCommand(target: NamespaceTarget, names: readonly string[]): string {
  if (isTemporalCloud(target.address)) {
    const attributes = names.map((n) => `--search-attribute '${n}=${SEARCH_ATTRIBUTE_TYPE}'`);
    return ['tcld namespace search-attributes add', `--namespace ${target.namespace}`, ...attributes].join(
      ' ',
    );
  }
  const attributes = names.map((n) => `--name ${n} --type ${SEARCH_ATTRIBUTE_TYPE}`);
  return [
    'temporal operator search-attribute create',
    `--address ${target.address}`,
    `--namespace ${target.namespace}`,
    ...attributes,
  ].join(' ');
}

/**
 * One line for a namespace that is not ready: what it lacks and what to run. The worker refuses to
 * start with it and the CLI prints it instead of "unexpected error".
 */
export function notReadyMessage(target: NamespaceTarget, gaps: NamespaceGaps): string {
  // A clash is what to fix first: preparing cannot change a registered type.
  if (gaps.clashes.length > 0) {
    return gaps.clashes
      .map(
        (c) =>
          `namespace "${target.namespace}" has ${c.name} as ${c.registered}, Converge needs ` +
          `${SEARCH_ATTRIBUTE_TYPE}; a search attribute's type cannot change: remove it if nothing else ` +
          'uses it, or use another namespace',
      )
      .join('; ');
  }
  return (
    `namespace "${target.namespace}" lacks Converge's search attributes ${gaps.missing.join(', ')} ` +
    `(${SEARCH_ATTRIBUTE_TYPE}); run \`converge namespace prepare\` with the same TEMPORAL_* settings, ` +
    `or have an operator run: ${registerCommand(target, gaps.missing)}`
  );
}
