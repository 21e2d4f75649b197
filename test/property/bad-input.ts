// Generators of bad input, shared by the loader fuzz (test/property/loader-fuzz.test.ts) and the update
// fuzz (test/integration/update-fuzz.test.ts): random text and documents, and valid documents broken by
// a few mutations (a key dropped, a value of the wrong type, a near-miss key, odd strings and numbers,
// deep nesting). Everything is plain JSON data, so it travels unchanged through YAML, files and
// Temporal payloads. Deterministic under a fixed fast-check seed.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { formatPath } from '../../src/domain/errors';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Path = (string | number)[];

const EXAMPLES = new URL('../../examples/', import.meta.url);

/** The example manifest and cloud config as plain data (what a user writes, before defaults). */
export function exampleDocuments(): { manifest: Json; cloudConfig: Json } {
  const read = (file: string): Json => parseYaml(readFileSync(new URL(file, EXAMPLES), 'utf8')) as Json;
  return { manifest: read('manifest.yml'), cloudConfig: read('cloud-config.yml') };
}

// ---------------------------------------------------------------------------------------------
// Paths into plain data

/** Every path in `value`, the root first. */
export function pathsOf(value: Json, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  return out;
}

function parentOf(root: Json, path: Path): Json | undefined {
  let node: Json | undefined = root;
  for (const segment of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) ? node[segment as number] : node[segment as string];
  }
  return node;
}

/**
 * Keys under these are free-form (records of names or of anything), so renaming or adding a key there
 * may still be valid input; elsewhere every object is strict.
 */
const FREE_FORM = new Set(['env', 'cloud_properties', 'vm_sizes']);

export function underFreeForm(path: Path): boolean {
  return path.slice(0, -1).some((s) => typeof s === 'string' && FREE_FORM.has(s));
}

// ---------------------------------------------------------------------------------------------
// Odd values

/** Strings a YAML or JSON reader, a regex or a message renderer might trip on. */
const TRICKY_STRINGS = [
  '',
  ' ',
  'yes',
  'no',
  '~',
  'null',
  '0x1F',
  '0o17',
  '1e3',
  '.inf',
  '-.nan',
  '2001-12-14',
  '25%',
  '0%',
  '101%',
  '-1',
  '10.0.0.999',
  '10.0.0.0/33',
  '::1',
  '__proto__',
  'constructor',
  'toString',
  '${HOME}',
  '../../etc/passwd',
  "'; DROP TABLE servers; --",
  '\u0000',
  '\uFEFF',
  '\u202Eevil',
  'ｗｅｂ',
  'wеb', // Cyrillic е
  '😀',
  'a'.repeat(300),
];

const TRICKY_NUMBERS = [
  0,
  -0,
  -1,
  0.5,
  1.5,
  1e-300,
  2 ** 31,
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
];

/** Nesting `depth` levels deep, alternating lists and mappings. Kept ≤ 200: see DEEP_NESTING below. */
export function nested(depth: number, leaf: Json = 'x'): Json {
  let v: Json = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { k: v };
  return v;
}

/**
 * Deep enough to exercise every recursive walk (zod, the YAML composer, the line locator) and well
 * below the depth at which yaml's composer overflows the stack (~780 levels on Node 20): that case
 * is covered on its own, in a child process, by loader-fuzz.test.ts.
 */
export const DEEP_NESTING = { min: 20, max: 200 };

export const oddValueArb: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(...TRICKY_STRINGS),
  fc.constantFrom<Json>(...TRICKY_NUMBERS),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }), // lone surrogates and control characters
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  fc.integer(DEEP_NESTING).map((d) => nested(d)),
);

/** A value of a different JSON type than `v` (so a strict schema cannot accept it in v's place). */
export function otherType(v: Json, pick: number): Json {
  const candidates: Json[] = [null, true, 42, -3.5, 'text', [], ['a', 1], {}, { unexpected: 1 }];
  const kind = (x: Json): string => (x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x);
  const others = candidates.filter((c) => kind(c) !== kind(v));
  return others[pick % others.length] ?? null;
}

// ---------------------------------------------------------------------------------------------
// Near-miss keys

const HOMOGLYPHS: Record<string, string> = { a: 'а', e: 'е', o: 'о', p: 'р', c: 'с', i: 'і' };

/** A misspelling of `key`: a letter dropped, doubled, swapped or replaced, a case change, a homoglyph. */
export function nearMiss(key: string, how: number, at: number): string {
  if (key.length === 0) return 'x';
  const i = at % key.length;
  const c = key[i] ?? 'x';
  const variants = [
    key.slice(0, i) + key.slice(i + 1), // drop
    key.slice(0, i) + c + key.slice(i), // double
    i + 1 < key.length ? key.slice(0, i) + (key[i + 1] ?? '') + c + key.slice(i + 2) : `${key}s`, // swap
    key.slice(0, i) + (c === 'z' ? 'y' : String.fromCharCode(c.charCodeAt(0) + 1)) + key.slice(i + 1), // replace
    key.toUpperCase(),
    key.replace(/_/g, '-') === key ? `${key}_` : key.replace(/_/g, '-'),
    key.slice(0, i) + (HOMOGLYPHS[c] ?? `${c}\u200B`) + key.slice(i + 1),
    `${key} `,
  ];
  const out = variants[how % variants.length] ?? `${key}x`;
  return out === key || out === '' ? `${key}x` : out;
}

// ---------------------------------------------------------------------------------------------
// Mutations

export type MutationKind =
  'drop' | 'wrong-type' | 'odd-value' | 'near-miss-key' | 'extra-key' | 'deep-nesting';

export interface Mutation {
  kind: MutationKind;
  /** Picks the path (modulo the paths that exist when the mutation is applied). */
  pick: number;
  /** Picks among variants (which misspelling, which other type). */
  variant: number;
  value: Json;
  depth: number;
}

export const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<MutationKind>(
    'drop',
    'wrong-type',
    'odd-value',
    'near-miss-key',
    'extra-key',
    'deep-nesting',
  ),
  pick: fc.nat(),
  variant: fc.nat(),
  value: oddValueArb,
  depth: fc.integer(DEEP_NESTING),
});

export interface Applied {
  doc: Json;
  /** What was done, for failure messages and for the near-miss check. */
  notes: string[];
  /** Misspelt keys put into strict objects: while any is still there, the input cannot be valid. */
  misspelt: string[];
}

/** Applies `mutations` in order to a copy of `doc`. */
export function mutate(doc: Json, mutations: readonly Mutation[]): Applied {
  // Only keys of the schema's own objects count as misspelt (not keys inside generated garbage).
  const original = new Set(pathsOf(doc).map((p) => JSON.stringify(p)));
  let root: Json = structuredClone(doc);
  const notes: string[] = [];
  const misspelt: Path[] = [];
  for (const m of mutations) {
    const paths = pathsOf(root);
    const path = paths[m.pick % paths.length] ?? [];
    const where = path.join('.') || '(root)';
    if (path.length === 0) {
      // The root itself: replace the whole document.
      root =
        m.kind === 'wrong-type'
          ? otherType(root, m.variant)
          : m.kind === 'deep-nesting'
            ? nested(m.depth)
            : m.value;
      notes.push(`${m.kind} at (root)`);
      continue;
    }
    const parent = parentOf(root, path);
    const last = path[path.length - 1];
    if (parent === null || parent === undefined || typeof parent !== 'object' || last === undefined) continue;
    const current: Json = Array.isArray(parent)
      ? (parent[last as number] ?? null)
      : (parent[last as string] ?? null);
    const put = (v: Json): void => {
      if (Array.isArray(parent)) parent[last as number] = v;
      else parent[last as string] = v;
    };
    switch (m.kind) {
      case 'drop':
        if (Array.isArray(parent)) parent.splice(last as number, 1);
        else delete parent[last as string];
        break;
      case 'wrong-type':
        put(otherType(current, m.variant));
        break;
      case 'odd-value':
        put(m.value);
        break;
      case 'deep-nesting':
        put(nested(m.depth, current));
        break;
      case 'near-miss-key':
      case 'extra-key': {
        if (Array.isArray(parent)) {
          parent.push(m.value);
          break;
        }
        const key = String(last);
        const newKey =
          m.kind === 'near-miss-key'
            ? nearMiss(key, m.variant, m.pick)
            : `${nearMiss(key, m.variant, m.pick)}_extra`;
        if (Object.hasOwn(parent, newKey)) break;
        if (m.kind === 'near-miss-key') delete parent[key];
        parent[newKey] = m.kind === 'near-miss-key' ? current : m.value;
        if (!underFreeForm(path) && original.has(JSON.stringify(path)))
          misspelt.push([...path.slice(0, -1), newKey]);
        break;
      }
    }
    notes.push(`${m.kind} at ${where}`);
  }
  // A later mutation may have dropped or replaced a misspelt key (or the object holding it).
  const present = misspelt.filter((p) => {
    const parent = parentOf(root, p);
    const key = p[p.length - 1];
    return (
      parent !== null &&
      typeof parent === 'object' &&
      !Array.isArray(parent) &&
      Object.hasOwn(parent, String(key))
    );
  });
  return { doc: root, notes, misspelt: present.map((p) => String(p[p.length - 1])) };
}

export const mutationsArb: fc.Arbitrary<Mutation[]> = fc.array(mutationArb, { minLength: 1, maxLength: 4 });

// ---------------------------------------------------------------------------------------------
// Well-typed but wrong: values that keep the schema happy and break the cross references

/** Names and addresses from the examples, near misses of them, and strangers. */
const REFERENCE_POOL = [
  'small',
  'medium',
  'large',
  'smal',
  'z1',
  'z2',
  'z3',
  'default',
  'backend',
  'fast',
  'slow',
  'web',
  'api',
  'worker',
  'db',
  'dev',
  '10.0.0.10',
  '10.0.0.11',
  '10.0.0.5',
  '10.0.0.31',
  '10.0.1.5',
  '10.0.0.1',
  '10.0.0.0/24',
  '10.0.0.0/16',
  '10.0.0.10-10.0.0.30',
  '10.0.0.30-10.0.0.10',
  '10.0.0.2-10.0.0.9',
];

export interface Retarget {
  pick: number;
  choice: number;
  size: number;
}

export const retargetsArb: fc.Arbitrary<Retarget[]> = fc.array(
  fc.record({ pick: fc.nat(), choice: fc.nat(), size: fc.integer({ min: 0, max: 4 }) }),
  { minLength: 1, maxLength: 3 },
);

/** Replaces a few leaves with values of the same type drawn from REFERENCE_POOL (or small counts). */
export function retarget(doc: Json, retargets: readonly Retarget[]): Json {
  const root = structuredClone(doc);
  for (const r of retargets) {
    const paths = pathsOf(root).filter((p) => p.length > 0);
    const path = paths[r.pick % paths.length];
    if (!path) continue;
    const parent = parentOf(root, path);
    const last = path[path.length - 1];
    if (parent === null || parent === undefined || typeof parent !== 'object' || last === undefined) continue;
    const current = Array.isArray(parent) ? parent[last as number] : parent[last as string];
    const from = (i: number): string => REFERENCE_POOL[i % REFERENCE_POOL.length] ?? 'x';
    let next: Json | undefined;
    if (typeof current === 'string') next = from(r.choice);
    else if (typeof current === 'number') next = r.size;
    else if (Array.isArray(current) && current.every((x) => typeof x === 'string'))
      next = Array.from({ length: r.size }, (_, i) => from(r.choice + i * 7));
    if (next === undefined) continue;
    if (Array.isArray(parent)) parent[last as number] = next;
    else parent[last as string] = next;
  }
  return root;
}

// ---------------------------------------------------------------------------------------------
// Random text

/** YAML-ish tokens: indicators, anchors, tags, document markers, keys from the schemas, odd bytes. */
const TOKENS = [
  'name',
  'instances',
  'instance_groups',
  'azs',
  'vm_type',
  'networks',
  'subnets',
  'static_ips',
  ':',
  ': ',
  '- ',
  '-',
  '[',
  ']',
  '{',
  '}',
  ',',
  '&a ',
  '*a',
  '*b',
  '!!str ',
  '!!int ',
  '!!map ',
  '!!binary ',
  '!custom ',
  '? ',
  '|',
  '>-',
  '"',
  "'",
  '#',
  '---',
  '...',
  '\n',
  '\n  ',
  '\n    ',
  '\t',
  ' ',
  '%YAML 1.2\n',
  '%TAG ! tag:x:\n',
  '<<: ',
  '~',
  'null',
  'true',
  '1e999',
  '0x',
  '\u0000',
  '\uFEFF',
  '\r\n',
  '😀',
  'é',
];

export const yamlSoupArb: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 6 })), { maxLength: 60 })
  .map((t) => t.join(''));

export const randomTextArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: fc.constantFrom(...'{}[]:-,&*!|>\'"#\n \t'), maxLength: 120 }),
);

// ---------------------------------------------------------------------------------------------
// Broken by construction: each break makes a valid document invalid for a reason the test knows, and
// names the field a rejection must point at. No input is filtered by the code under test.

export type DocumentKind = 'manifest' | 'cloud config';

export type BreakKind =
  'unknown-key' | 'wrong-type' | 'drop-required' | 'negative-count' | 'dangling-reference';

export interface Break {
  kind: BreakKind;
  pick: number;
  variant: number;
}

export const breakArb: fc.Arbitrary<Break> = fc.record({
  kind: fc.constantFrom<BreakKind>(
    'unknown-key',
    'wrong-type',
    'drop-required',
    'negative-count',
    'dangling-reference',
  ),
  pick: fc.nat(),
  variant: fc.nat(),
});

export interface Broken {
  doc: Json;
  /** The field path (as a Problem names it) the rejection must name. */
  field: string;
  note: string;
}

/**
 * A value of another JSON kind that no field takes in place of `v`: never a number or a string (where
 * a count is expected a percentage string may do, and the reverse), never `v`'s own kind.
 */
function structurallyOther(v: Json, pick: number): Json {
  const kind = (x: Json): string => (x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x);
  const candidates: Json[] = [null, true, [], ['a', 1], {}, { unexpected: 1 }];
  const others = candidates.filter((c) => kind(c) !== kind(v));
  return others[pick % others.length] ?? null;
}

/** Required keys, by the shape of the object's path (indexes and record keys as `*`). */
const REQUIRED: Record<DocumentKind, Record<string, string[]>> = {
  manifest: {
    '': ['name', 'resource_pool', 'stemcells', 'instance_groups'],
    'stemcells.*': ['alias', 'os', 'version'],
    'instance_groups.*': ['name', 'instances', 'azs', 'vm_type', 'stemcell', 'networks'],
    'instance_groups.*.networks.*': ['name'],
  },
  'cloud config': {
    '': ['azs', 'vm_types', 'networks'],
    'azs.*': ['name'],
    'vm_sizes.*': ['cpus', 'memory_mb', 'disk_gb'],
    'vm_types.*': ['name'],
    'disk_types.*': ['name', 'disk_gb'],
    'networks.*': ['name', 'subnets'],
    'networks.*.subnets.*': ['range', 'gateway', 'azs'],
  },
};

/** Counts that must be >= 0 (instances) or >= 1 (sizes): a negative one is never valid. */
const COUNTS: Record<DocumentKind, RegExp> = {
  manifest: /^(instance_groups\.\*\.(instances|persistent_disk)|update\.canaries)$/,
  'cloud config':
    /^(vm_sizes\.\*\.(cpus|memory_mb|disk_gb)|vm_types\.\*\.(cpus|memory_mb|disk_gb)|disk_types\.\*\.disk_gb)$/,
};

/** Manifest names that must name something in the cloud config or the manifest itself. */
const REFERENCES = /^instance_groups\.\*\.(vm_type|stemcell|azs\.\*|networks\.\*\.name)$/;

function shapeOf(path: Path, kind: DocumentKind): string {
  return path
    .map((s, i) =>
      typeof s === 'number' || (kind === 'cloud config' && i === 1 && path[0] === 'vm_sizes') ? '*' : s,
    )
    .join('.');
}

function at(root: Json, path: Path): Json | undefined {
  let node: Json | undefined = root;
  for (const s of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) ? node[s as number] : node[s as string];
  }
  return node;
}

function setAt(root: Json, path: Path, value: Json | undefined): void {
  const parent = parentOf(root, path);
  const last = path[path.length - 1];
  if (parent === null || parent === undefined || typeof parent !== 'object' || last === undefined) return;
  if (Array.isArray(parent)) parent[last as number] = value as Json;
  else if (value === undefined) delete parent[last as string];
  else parent[last as string] = value;
}

const isObject = (v: Json | undefined): v is { [key: string]: Json } =>
  v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);
const isFreeForm = (path: Path): boolean =>
  underFreeForm([...path, '']) || FREE_FORM.has(String(path[path.length - 1] ?? ''));

/**
 * Applies one break to a copy of a valid `doc`. A kind with nothing to break in this document (a
 * dangling reference in a cloud config) falls back to a wrong type, which every document has.
 */
export function breakDocument(doc: Json, kind: DocumentKind, b: Break): Broken {
  const root = structuredClone(doc);
  const paths = pathsOf(root).filter((p) => p.length > 0);
  const choose = <T>(xs: T[]): T | undefined => xs[b.pick % Math.max(1, xs.length)];
  const named = (p: Path): string => formatPath(p);

  if (b.kind === 'unknown-key') {
    const objects = [[] as Path, ...paths].filter((p) => isObject(at(root, p)) && !isFreeForm(p));
    const path = choose(objects) ?? [];
    const target = at(root, path) as { [key: string]: Json };
    const key = `${nearMiss(String(path[path.length - 1] ?? 'name'), b.variant, b.pick)}_unknown`
      .replace(/[^A-Za-z0-9_-]/g, 'x')
      .replace(/^[^A-Za-z_]/, 'x');
    target[key] = 'surplus';
    return { doc: root, field: named([...path, key]), note: `unknown key ${named([...path, key])}` };
  }
  if (b.kind === 'drop-required') {
    const drops = [[] as Path, ...paths].flatMap((p) =>
      isObject(at(root, p))
        ? (REQUIRED[kind][shapeOf(p, kind)] ?? [])
            .filter((k) => Object.hasOwn(at(root, p) as object, k))
            .map((k) => [...p, k])
        : [],
    );
    const path = choose(drops);
    if (path) {
      setAt(root, path, undefined);
      return { doc: root, field: named(path), note: `dropped ${named(path)}` };
    }
  }
  if (b.kind === 'negative-count') {
    const counts = paths.filter(
      (p) => typeof at(root, p) === 'number' && COUNTS[kind].test(shapeOf(p, kind)),
    );
    const path = choose(counts);
    if (path) {
      setAt(root, path, -1 - (b.variant % 3));
      return { doc: root, field: named(path), note: `negative ${named(path)}` };
    }
  }
  if (b.kind === 'dangling-reference' && kind === 'manifest') {
    const refs = paths.filter((p) => typeof at(root, p) === 'string' && REFERENCES.test(shapeOf(p, kind)));
    const path = choose(refs);
    if (path) {
      setAt(root, path, `nothing-named-${b.variant % 100}`);
      return { doc: root, field: named(path), note: `dangling ${named(path)}` };
    }
  }
  // wrong-type: any node outside the free-form records, replaced by a value of another JSON kind.
  const typed = paths.filter((p) => !isFreeForm(p));
  const path = choose(typed) ?? ['name'];
  setAt(root, path, structurallyOther(at(root, path) ?? null, b.variant));
  return { doc: root, field: named(path), note: `wrong type at ${named(path)}` };
}
