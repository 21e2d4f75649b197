// Checking and preparing a namespace for Converge through Temporal's operator service: the worker
// checks at start, the CLI checks before a deploy and after an unexpected failure, and
// `converge namespace prepare` registers what is missing. The client's Connection and the worker's
// NativeConnection both carry an operator service of this shape, so one function serves both.
import proto from '@temporalio/proto'; // CommonJS: named ESM imports fail at runtime under Node
import type { temporal } from '@temporalio/proto';
import { UserError } from '../domain/errors';
import { EXIT } from '../domain/exit-codes';
import {
  SEARCH_ATTRIBUTES,
  isReady,
  isTemporalCloud,
  namespaceGaps,
  notReadyMessage,
  registerCommand,
  type NamespaceGaps,
  type NamespaceTarget,
} from './search-attributes';

type OperatorService = Pick<
  temporal.api.operatorservice.v1.OperatorService,
  'listSearchAttributes' | 'addSearchAttributes'
>;
const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;

// gRPC status codes (both connections report them as `code`).
const GRPC = { alreadyExists: 6, permissionDenied: 7, notFound: 5, unimplemented: 12 } as const;

/** The worker refuses to start, and the CLI to go on, in a namespace that is not ready (exit 2). */
export class NamespaceNotReadyError extends UserError {
  readonly gaps: NamespaceGaps;
  constructor(target: NamespaceTarget, gaps: NamespaceGaps) {
    super(notReadyMessage(target, gaps), EXIT.usage);
    this.name = 'NamespaceNotReadyError';
    this.gaps = gaps;
  }
}

/** `INDEXED_VALUE_TYPE_KEYWORD_LIST` → `KeywordList`: types as the Temporal CLI spells them. */
export function typeName(type: temporal.api.enums.v1.IndexedValueType): string {
  const raw = IndexedValueType[type] ?? 'UNSPECIFIED';
  return raw
    .replace(/^INDEXED_VALUE_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _sep: string, c: string) => c.toUpperCase());
}

/** The namespace's custom search attributes, name → type (CLI spelling). */
async function registered(operator: OperatorService, namespace: string): Promise<Map<string, string>> {
  const res = await operator.listSearchAttributes({ namespace });
  const custom: Record<string, temporal.api.enums.v1.IndexedValueType> = res.customAttributes ?? {};
  return new Map(Object.entries(custom).map(([name, type]) => [name, typeName(type)]));
}

/**
 * What the namespace lacks, or null when this caller may not look (the operator API denied or not
 * offered): the check is then left to the server. A namespace that does not exist is a UserError.
 */
export async function checkNamespace(
  operator: OperatorService,
  target: NamespaceTarget,
): Promise<NamespaceGaps | null> {
  try {
    return namespaceGaps(await registered(operator, target.namespace));
  } catch (err) {
    const code = grpcCode(err);
    if (code === GRPC.notFound) throw noSuchNamespace(target);
    if (code === GRPC.permissionDenied || code === GRPC.unimplemented) return null;
    throw err;
  }
}

/** Throws NamespaceNotReadyError when the namespace lacks what Converge needs; quiet when it cannot tell. */
export async function requireReadyNamespace(
  operator: OperatorService,
  target: NamespaceTarget,
): Promise<void> {
  const gaps = await checkNamespace(operator, target);
  if (gaps !== null && !isReady(gaps)) throw new NamespaceNotReadyError(target, gaps);
}

/**
 * The error to show for an unexpected failure `err`: the namespace's own when it is not ready (the
 * server fails the workflow task that sets a missing attribute, and an update reports only
 * "unexpected workflow task failure"), else `err` itself, also when the check cannot tell.
 */
export async function explainFailure(
  operator: OperatorService,
  target: NamespaceTarget,
  err: unknown,
): Promise<unknown> {
  if (err instanceof UserError) return err;
  try {
    await requireReadyNamespace(operator, target);
    return err;
  } catch (checkErr) {
    return checkErr instanceof UserError ? checkErr : err;
  }
}

/**
 * Runs `body` in the namespace: checked first when `check` (commands that start workflows), and an
 * unexpected failure explained by the namespace's state (explainFailure). The CLI and the client API
 * both go through it.
 */
export async function inNamespace<T>(
  operator: OperatorService,
  target: NamespaceTarget,
  body: () => Promise<T>,
  check = false,
): Promise<T> {
  if (check) await requireReadyNamespace(operator, target);
  try {
    return await body();
  } catch (err) {
    throw await explainFailure(operator, target, err);
  }
}

/** What `converge namespace prepare` did. */
export type Preparation =
  | { outcome: 'ready'; namespace: string; added: string[]; present: string[] }
  /** Not allowed here (permission denied, or Temporal Cloud): `command` is what to run instead. */
  | { outcome: 'not_allowed'; namespace: string; missing: string[]; reason: string; command: string };

/**
 * Registers the search attributes the namespace lacks; idempotent (those present are left alone,
 * and a concurrent preparation is fine). A type clash is a NamespaceNotReadyError: nothing is added.
 */
export async function prepareNamespace(
  operator: OperatorService,
  target: NamespaceTarget,
): Promise<Preparation> {
  const before = await checkNamespace(operator, target);
  if (before === null) {
    return notAllowed(
      target,
      [...SEARCH_ATTRIBUTES],
      "this caller may not list the namespace's search attributes",
    );
  }
  if (before.clashes.length > 0)
    throw new NamespaceNotReadyError(target, { missing: [], clashes: before.clashes });
  const present = SEARCH_ATTRIBUTES.filter((n) => !before.missing.includes(n));
  if (before.missing.length === 0)
    return { outcome: 'ready', namespace: target.namespace, added: [], present };
  if (isTemporalCloud(target.address)) {
    return notAllowed(
      target,
      before.missing,
      'Temporal Cloud registers search attributes with tcld or the Cloud UI',
    );
  }
  try {
    await operator.addSearchAttributes({
      namespace: target.namespace,
      searchAttributes: Object.fromEntries(
        before.missing.map((name) => [name, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
  } catch (err) {
    const code = grpcCode(err);
    if (code === GRPC.permissionDenied || code === GRPC.unimplemented) {
      return notAllowed(target, before.missing, `the server refused (${errorMessage(err)})`);
    }
    if (code !== GRPC.alreadyExists) throw err;
    // Someone registered some of them meanwhile: what is there now decides.
  }
  const after = await checkNamespace(operator, target);
  if (after !== null && !isReady(after)) throw new NamespaceNotReadyError(target, after);
  return { outcome: 'ready', namespace: target.namespace, added: before.missing, present };
}

function notAllowed(target: NamespaceTarget, missing: string[], reason: string): Preparation {
  return {
    outcome: 'not_allowed',
    namespace: target.namespace,
    missing,
    reason,
    command: registerCommand(target, missing),
  };
}

function noSuchNamespace(target: NamespaceTarget): UserError {
  return new UserError(
    `namespace "${target.namespace}" does not exist on ${target.address}; create it first ` +
      `(temporal operator namespace create --address ${target.address} --namespace ${target.namespace}) ` +
      'or set TEMPORAL_NAMESPACE to one that exists',
    EXIT.usage,
  );
}

function grpcCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'number' ? err.code : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
