// Turning text (or an already-parsed object) into a typed Manifest / CloudConfig, or one
// ValidationError listing every problem with its field path, YAML line:column and a hint.
// Pure: no Node imports, so workflow update validators can use the object variants.
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
} from 'yaml';
import type { z } from 'zod';
import { cloudConfigSchema, type CloudConfig } from './cloud-config';
import { formatPath, ValidationError, type PathSegment, type Problem } from './errors';
import { manifestSchema, type Manifest } from './manifest';
import { didYouMean } from './suggest';
import { cloudConfigProblems, manifestProblems, placeFindings, type Finding } from './validate';

export type { PathSegment } from './errors';

export interface Position {
  line: number;
  column: number;
}

/** An input document: its plain data plus a way back from a field path to where it was written. */
export interface SourceDocument {
  /** File name used in messages, or null for objects that never were a file. */
  readonly source: string | null;
  /** The plain data (YAML turned into JS), before schema defaults. */
  readonly data: unknown;
  /** YAML syntax problems; when any exist, `data` is not trustworthy. */
  readonly syntaxProblems: readonly Problem[];
  /**
   * Where `path` was written. With `key: true` the position of the mapping key rather than its value
   * (used for unknown keys). A path that does not exist resolves to its nearest existing ancestor.
   */
  locate(path: readonly PathSegment[], options?: { key?: boolean }): Position | null;
}

/** A typed, valid input together with the document it came from (for line numbers in later checks). */
export interface Parsed<T> {
  readonly value: T;
  readonly doc: SourceDocument;
}

// ---------------------------------------------------------------------------------------------
// Documents

const MAX_FLOW_DEPTH = 512;

/** The offset where `[`/`{` nesting first exceeds `max` (quotes and comments roughly skipped), or null. */
function flowDepthBeyond(text: string, max: number): number | null {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
    else if (c === '[' || c === '{') {
      if (++depth > max) return i;
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
    else if (c === '\n') quote = null;
  }
  return null;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text[i] === '\n') line++;
  return line;
}

/** Parse YAML text, keeping node ranges so any field path can be mapped back to line:column. */
export function readYamlDocument(text: string, source: string | null): SourceDocument {
  const lineCounter = new LineCounter();
  // yaml's composer recurses per level: refuse absurd nesting before it can overflow the stack.
  const tooDeep = flowDepthBeyond(text, MAX_FLOW_DEPTH);
  const doc = parseDocument(tooDeep === null ? text : '', {
    lineCounter,
    prettyErrors: true,
    uniqueKeys: true,
  });
  const syntaxProblems: Problem[] = doc.errors.map((error) => {
    const at = error.linePos?.[0];
    return {
      path: '',
      line: at?.line ?? null,
      column: at?.col ?? null,
      message: `YAML syntax: ${firstLine(error.message)}`,
      hint: null,
      source,
    };
  });
  if (tooDeep !== null) {
    syntaxProblems.push({
      path: '',
      line: lineOf(text, tooDeep),
      column: null,
      message: `YAML syntax: nested more than ${MAX_FLOW_DEPTH} levels deep`,
      hint: null,
      source,
    });
  }
  let data: unknown = undefined;
  if (syntaxProblems.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // An alias without its anchor, or an alias bomb: yaml throws instead of reporting.
      syntaxProblems.push({
        path: '',
        line: null,
        column: null,
        message: `YAML syntax: ${firstLine(err instanceof Error ? err.message : String(err))}`,
        hint: null,
        source,
      });
    }
  }
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  return {
    source,
    data,
    syntaxProblems,
    locate(path, options) {
      const offset = locateOffset(doc, path, options?.key === true);
      return offset === null ? null : position(offset);
    },
  };
}

/** A document for an object that never was YAML (workflow inputs): no positions. */
export function objectDocument(data: unknown, source: string | null = null): SourceDocument {
  return { source, data, syntaxProblems: [], locate: () => null };
}

/** yaml's pretty messages end with " at line N, column M:" and a code frame; the position is kept apart. */
function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '');
}

function locateOffset(doc: Document, path: readonly PathSegment[], wantKey: boolean): number | null {
  let node: unknown = doc.contents;
  let best: number | null = startOf(node);
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const segment = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
      );
      if (pair === undefined) return best;
      const keyStart = startOf(pair.key);
      if (last && wantKey) return keyStart ?? best;
      node = pair.value;
      best = startOf(node) ?? keyStart ?? best;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      if (node === undefined) return best;
      best = startOf(node) ?? best;
    } else {
      return best;
    }
  }
  return best;
}

function startOf(node: unknown): number | null {
  if (node === null || typeof node !== 'object' || !('range' in node)) return null;
  const range = (node as Node).range;
  return range ? range[0] : null;
}

// ---------------------------------------------------------------------------------------------
// Schema issues → problems

type Issue = z.core.$ZodIssue;

/** Validate `doc.data` against `schema`; every issue becomes a Problem with a message a user can act on. */
export function schemaProblems<S extends z.ZodType>(
  schema: S,
  doc: SourceDocument,
): { value: z.output<S>; problems: [] } | { value: null; problems: Problem[] } {
  const result = schema.safeParse(doc.data, { reportInput: true });
  if (result.success) return { value: result.data, problems: [] };
  const problems = result.error.issues.flatMap((issue) => issueProblems(issue, [], schema, doc));
  return { value: null, problems };
}

function issueProblems(
  issue: Issue,
  prefix: readonly PathSegment[],
  schema: z.ZodType,
  doc: SourceDocument,
): Problem[] {
  const path = [...prefix, ...(issue.path as PathSegment[])];
  const at = (p: readonly PathSegment[], key = false): Problem => {
    const pos = doc.locate(p, { key });
    return {
      path: formatPath(p),
      line: pos?.line ?? null,
      column: pos?.column ?? null,
      message: '',
      hint: null,
      source: doc.source,
    };
  };
  const present = lookup(doc.data, path);
  const found = present.found ? describeValue(present.value) : 'nothing';

  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(schema, path);
      return issue.keys.map((key) => {
        const hint = didYouMean(key, known);
        // With a near miss the hint says it all; otherwise list what is allowed here.
        const allowed = hint === null && known.length > 0 ? ` (expected one of: ${known.join(', ')})` : '';
        return { ...at([...path, key], true), message: `unknown key '${key}'${allowed}`, hint };
      });
    }
    case 'invalid_type': {
      if (path.length === 0 && (doc.data === null || doc.data === undefined)) {
        return [{ ...at(path), message: `the document is empty (expected ${typeName(issue.expected)})` }];
      }
      if (!present.found) {
        const key = String(path.at(-1) ?? '');
        return [
          {
            ...at(path),
            message: `required key '${key}' is missing (expected ${typeName(issue.expected)})`,
            hint: misspelledAs(
              key,
              lookup(doc.data, path.slice(0, -1)).value,
              knownKeys(schema, path.slice(0, -1)),
            ),
          },
        ];
      }
      if (issue.expected === 'string' && typeof present.value === 'number') {
        // YAML reads 1.181 (and worse, 1.10 → 1.1) as a number; a version must be quoted.
        return [
          {
            ...at(path),
            message: `expected a string, found the number ${found}`,
            hint:
              path.at(-1) === 'version'
                ? `quote it so YAML keeps it as text: "${found}" (unquoted, 1.10 would read as 1.1)`
                : `quote it so YAML keeps it as text: "${found}"`,
          },
        ];
      }
      return [{ ...at(path), message: `expected ${typeName(issue.expected)}, found ${found}` }];
    }
    case 'invalid_value': {
      const values = issue.values.map((v) => String(v));
      const hint = typeof present.value === 'string' ? didYouMean(present.value, values) : null;
      return [{ ...at(path), message: `expected one of: ${values.join(', ')}; found ${found}`, hint }];
    }
    case 'invalid_format': {
      const expected = issue.format === 'url' ? 'a URL such as http://127.0.0.1:9100/hook' : issue.message;
      return [{ ...at(path), message: `expected ${expected}, found ${found}` }];
    }
    case 'too_small':
    case 'too_big':
      return [
        { ...at(path), message: `${bound(issue)}, found ${sizeOf(issue.origin, present.value, found)}` },
      ];
    case 'invalid_union': {
      // Prefer the branch whose type matched (e.g. max_in_flight: 0 is a number that is too small);
      // if no branch's type matched, say which types would do.
      const branches = issue.errors;
      const typed = branches.find((b) => !b.every((i) => i.code === 'invalid_type' && i.path.length === 0));
      if (typed !== undefined) return typed.flatMap((i) => issueProblems(i, path, schema, doc));
      const expected = branches.flatMap((b) =>
        b.map((i) => (i.code === 'invalid_type' ? typeName(i.expected) : null)),
      );
      const names = [...new Set(expected.filter((e): e is string => e !== null))];
      return [{ ...at(path), message: `expected ${names.join(' or ')}, found ${found}` }];
    }
    default:
      return [{ ...at(path), message: `${issue.message}, found ${found}` }];
  }
}

function bound(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>): string {
  const small = issue.code === 'too_small';
  const limit = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case 'array':
    case 'set':
      return small
        ? `expected at least ${limit} ${limit === 1 ? 'item' : 'items'}`
        : `expected at most ${limit} items`;
    case 'string':
      return small
        ? limit === 1
          ? 'expected a non-empty string'
          : `expected at least ${limit} characters`
        : `expected at most ${limit} characters`;
    default:
      return `expected a number ${small ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<'} ${limit}`;
  }
}

function sizeOf(origin: string, value: unknown, found: string): string {
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `${value.length} items`;
  if (origin === 'string' && value === '') return 'an empty string';
  return found;
}

function typeName(expected: string): string {
  switch (expected) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'a mapping';
    default:
      return expected;
  }
}

/** For a missing key: an unknown sibling key that looks like a misspelling of it. */
function misspelledAs(key: string, parent: unknown, known: readonly string[]): string | null {
  if (parent === null || typeof parent !== 'object' || Array.isArray(parent)) return null;
  const unknown = Object.keys(parent).filter((k) => !known.includes(k));
  const typo = unknown.find((k) => didYouMean(k, known) === `did you mean '${key}'?`);
  return typo === undefined ? null : `it is spelled '${typo}' here`;
}

/** How a found value reads in a message: `'smal'`, `0`, `a list`, `null (empty value)`. */
function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

function lookup(data: unknown, path: readonly PathSegment[]): { found: boolean; value: unknown } {
  let node: unknown = data;
  for (const segment of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment))
      return { found: false, value: undefined };
    node = (node as Record<PathSegment, unknown>)[segment];
  }
  return { found: true, value: node };
}

/** The keys a strict object schema accepts at `path` (for "expected one of" and did-you-mean). */
function knownKeys(schema: z.core.$ZodType, path: readonly PathSegment[]): string[] {
  let current: z.core.$ZodType | undefined = unwrap(schema);
  for (const segment of path) {
    if (current === undefined) return [];
    const def: z.core.$ZodTypeDef = current._zod.def;
    let next: z.core.$ZodType | undefined;
    if (def.type === 'object' && typeof segment === 'string')
      next = (def as z.core.$ZodObjectDef).shape[segment];
    else if (def.type === 'array') next = (def as z.core.$ZodArrayDef).element;
    else if (def.type === 'record') next = (def as z.core.$ZodRecordDef).valueType;
    else return [];
    current = next === undefined ? undefined : unwrap(next);
  }
  if (current === undefined || current._zod.def.type !== 'object') return [];
  return Object.keys((current._zod.def as z.core.$ZodObjectDef).shape);
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  for (;;) {
    const def = current._zod.def;
    if (
      def.type === 'optional' ||
      def.type === 'default' ||
      def.type === 'nullable' ||
      def.type === 'prefault'
    ) {
      current = (def as z.core.$ZodOptionalDef).innerType;
    } else {
      return current;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Manifest and cloud config

/** Every problem in one document: YAML syntax, then schema, then (if the schema holds) consistency. */
export function checkDocument<T>(
  doc: SourceDocument,
  schema: z.ZodType<T>,
  consistency: (value: T) => Finding[],
): { value: T | null; problems: Problem[] } {
  if (doc.syntaxProblems.length > 0) return { value: null, problems: [...doc.syntaxProblems] };
  const checked = schemaProblems(schema, doc);
  if (checked.value === null) return { value: null, problems: checked.problems };
  const value = checked.value as T;
  return { value, problems: placeFindings(consistency(value), doc) };
}

function orThrow<T>(doc: SourceDocument, checked: { value: T | null; problems: Problem[] }): Parsed<T> {
  if (checked.value === null || checked.problems.length > 0)
    throw new ValidationError(checked.problems, doc.source);
  return { value: checked.value, doc };
}

export function parseManifestDocument(text: string, source: string | null): Parsed<Manifest> {
  const doc = readYamlDocument(text, source);
  return orThrow(doc, checkDocument(doc, manifestSchema, manifestProblems));
}

export function parseCloudConfigDocument(text: string, source: string | null): Parsed<CloudConfig> {
  const doc = readYamlDocument(text, source);
  return orThrow(doc, checkDocument(doc, cloudConfigSchema, cloudConfigProblems));
}

/** YAML text → Manifest, or a ValidationError listing every problem with line:column. */
export function parseManifest(text: string, source: string | null = 'manifest'): Manifest {
  return parseManifestDocument(text, source).value;
}

/** YAML text → CloudConfig, or a ValidationError listing every problem with line:column. */
export function parseCloudConfig(text: string, source: string | null = 'cloud config'): CloudConfig {
  return parseCloudConfigDocument(text, source).value;
}

/** An already-parsed object (e.g. a workflow update's input) → Manifest; problems have no lines. */
export function validateManifestObject(obj: unknown, source: string | null = 'manifest'): Manifest {
  const doc = objectDocument(obj, source);
  return orThrow(doc, checkDocument(doc, manifestSchema, manifestProblems)).value;
}

/** An already-parsed object → CloudConfig; problems have no lines. */
export function validateCloudConfigObject(obj: unknown, source: string | null = 'cloud config'): CloudConfig {
  const doc = objectDocument(obj, source);
  return orThrow(doc, checkDocument(doc, cloudConfigSchema, cloudConfigProblems)).value;
}
