// Bad input, at scale, into the loaders (DESIGN §9.5, issue 5): generated text, documents and mutated
// valid manifests and cloud configs go into parseManifest / parseCloudConfig / validate*Object /
// validateDeployment / loadDeploymentInputs. The only error that may come out is the typed one
// (ValidationError, or UserError for an unreadable file), with a message a user can act on; a sample
// goes through the real CLI, which must exit 2 without a stack trace. Fixed seed: every failure
// reproduces, and fast-check prints the shrunk input. The count of inputs per class is printed at the end.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { loadDeploymentInputs } from '../../src/client/load';
import { cloudConfigSchema } from '../../src/domain/cloud-config';
import { UserError, ValidationError } from '../../src/domain/errors';
import {
  parseCloudConfig,
  parseManifest,
  validateCloudConfigObject,
  validateManifestObject,
} from '../../src/domain/load';
import { manifestSchema } from '../../src/domain/manifest';
import { validateDeployment } from '../../src/domain/validate';
import { runConverge } from '../support/cli';
import {
  breakArb,
  breakDocument,
  exampleDocuments,
  type DocumentKind,
  mutate,
  mutationsArb,
  nested,
  randomTextArb,
  retarget,
  retargetsArb,
  yamlSoupArb,
  type Json,
} from './bad-input';

const SEED = 5_000_005;
/** CONVERGE_FUZZ_SCALE=10 runs ten times as many inputs per class (a nightly run). */
const SCALE = Number(process.env.CONVERGE_FUZZ_SCALE ?? 1);
const runs = (n: number) => ({ seed: SEED, numRuns: Math.max(1, Math.round(n * SCALE)) });

type Outcome = 'accepted' | 'rejected' | 'known bug';
const tally = new Map<string, Record<Outcome | 'inputs', number>>();

function count(kind: string, outcome: Outcome): void {
  const t = tally.get(kind) ?? { inputs: 0, accepted: 0, rejected: 0, 'known bug': 0 };
  t.inputs++;
  t[outcome]++;
  tally.set(kind, t);
}

/**
 * Escapes already reported, each pinned by an `it.fails` test below: yaml's toJS throws a plain
 * ReferenceError for an alias to a missing anchor and for an alias bomb. Counted in the table, not
 * hidden; remove the entry when src/domain/load.ts catches them.
 */
const KNOWN_BUGS: RegExp[] = []; // fixed in src/domain/load.ts (readYamlDocument)

/**
 * Runs one loader call: a value or a typed rejection is fine, anything else fails the property (and
 * fast-check shrinks the input). A rejection must read well: at least one problem, each naming a path
 * and saying something, nothing rendered as `[object Object]` or `undefined`.
 */
function loads(kind: string, call: () => unknown): { outcome: Outcome; message: string } {
  try {
    call();
    count(kind, 'accepted');
    return { outcome: 'accepted', message: '' };
  } catch (err) {
    if (err instanceof ValidationError) {
      expect(err.problems.length, err.message).toBeGreaterThan(0);
      for (const p of err.problems) {
        expect(p.message.trim(), JSON.stringify(p)).not.toBe('');
        expect(p.message).not.toMatch(/\[object Object\]|\bundefined\b/);
      }
      count(kind, 'rejected');
      return { outcome: 'rejected', message: err.message };
    }
    if (err instanceof UserError) {
      count(kind, 'rejected');
      return { outcome: 'rejected', message: err.message };
    }
    if (err instanceof ReferenceError && KNOWN_BUGS.some((re) => re.test(err.message))) {
      count(kind, 'known bug');
      return { outcome: 'known bug', message: err.message };
    }
    throw err;
  }
}

const { manifest: MANIFEST, cloudConfig: CLOUD_CONFIG } = exampleDocuments();
const serializations = ['yaml', 'json', 'yaml-flow'] as const;
const serialize = (doc: Json, how: (typeof serializations)[number]): string =>
  how === 'json' ? JSON.stringify(doc) : toYaml(doc, how === 'yaml-flow' ? { collectionStyle: 'flow' } : {});

afterAll(() => {
  const rows = [...tally.entries()].map(([kind, t]) => ({ class: kind, ...t }));
  const total = rows.reduce((s, r) => s + r.inputs, 0);
  console.log(`[loader-fuzz] ${total} bad inputs (seed ${SEED}, scale ${SCALE})`);
  console.table(rows);
});

describe('the loaders only ever throw ValidationError', () => {
  it('random text (unicode, control characters, YAML indicators)', () => {
    fc.assert(
      fc.property(randomTextArb, (text) => {
        loads('random text → parseManifest', () => parseManifest(text));
        loads('random text → parseCloudConfig', () => parseCloudConfig(text));
      }),
      runs(400),
    );
  });

  it('YAML token soup (anchors, tags, aliases, merge keys, documents, schema keys)', () => {
    fc.assert(
      fc.property(yamlSoupArb, (text) => {
        loads('YAML soup → parseManifest', () => parseManifest(text));
        loads('YAML soup → parseCloudConfig', () => parseCloudConfig(text));
      }),
      runs(400),
    );
  });

  it('random JSON documents, as text and as objects', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        const text = JSON.stringify(value) ?? 'null';
        loads('random JSON → parseManifest', () => parseManifest(text));
        loads('random JSON → validateManifestObject', () => validateManifestObject(value));
        loads('random JSON → validateCloudConfigObject', () => validateCloudConfigObject(value));
      }),
      runs(300),
    );
  });

  it('random objects (null prototypes, sparse arrays, odd keys)', () => {
    const anything = fc.anything({
      maxDepth: 3,
      withNullPrototype: true,
      withSparseArray: true,
      withBoxedValues: true,
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      key: fc.oneof(
        fc.string(),
        fc.constantFrom('name', 'instance_groups', 'azs', 'vm_types', '__proto__', 'constructor'),
      ),
    });
    fc.assert(
      fc.property(anything, (value) => {
        loads('random object → validateManifestObject', () => validateManifestObject(value));
        loads('random object → validateCloudConfigObject', () => validateCloudConfigObject(value));
      }),
      runs(300),
    );
  });

  it('mutated valid manifests; a misspelt key is always rejected and named', () => {
    fc.assert(
      fc.property(mutationsArb, fc.constantFrom(...serializations), (mutations, how) => {
        const m = mutate(MANIFEST, mutations);
        const text = serialize(m.doc, how);
        const { outcome, message } = loads(`mutated manifest (${how}) → parseManifest`, () =>
          parseManifest(text),
        );
        loads('mutated manifest → validateManifestObject', () => validateManifestObject(m.doc));
        if (m.misspelt.length > 0) {
          expect(outcome, m.notes.join('; ')).toBe('rejected');
          for (const key of m.misspelt) expect(message, m.notes.join('; ')).toContain(`unknown key '${key}'`);
        }
      }),
      runs(500),
    );
  });

  it('mutated valid cloud configs; a misspelt key is always rejected', () => {
    fc.assert(
      fc.property(mutationsArb, fc.constantFrom(...serializations), (mutations, how) => {
        const c = mutate(CLOUD_CONFIG, mutations);
        const { outcome } = loads(`mutated cloud config (${how}) → parseCloudConfig`, () =>
          parseCloudConfig(serialize(c.doc, how)),
        );
        if (c.misspelt.length > 0) expect(outcome, c.notes.join('; ')).toBe('rejected');
      }),
      runs(500),
    );
  });

  it('schema-valid pairs with broken cross references → validateDeployment', () => {
    // Leaves replaced by values of the same type (names, near misses, addresses, counts), so most
    // pairs still pass both schemas and reach the cross-reference checks.
    fc.assert(
      fc.property(
        retargetsArb,
        retargetsArb,
        fc.constantFrom('manifest', 'cloud config', 'both'),
        (mr, cr, which) => {
          const manifest = manifestSchema.safeParse(
            which === 'cloud config' ? MANIFEST : retarget(MANIFEST, mr),
          );
          const cloudConfig = cloudConfigSchema.safeParse(
            which === 'manifest' ? CLOUD_CONFIG : retarget(CLOUD_CONFIG, cr),
          );
          if (!manifest.success || !cloudConfig.success) {
            count('retargeted pair failing a schema (not sent)', 'rejected');
            return;
          }
          loads('schema-valid pair → validateDeployment', () =>
            validateDeployment(manifest.data, cloudConfig.data),
          );
        },
      ),
      runs(600),
    );
  });

  it('documents broken by construction: every one rejected with a ValidationError naming the broken field', () => {
    // Each break (an unknown key, a wrong type, a required key dropped, a negative count, a name that
    // refers to nothing) makes the document invalid by construction: nothing is filtered by the loader.
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(
        breakArb,
        fc.constantFrom<DocumentKind>('manifest', 'cloud config'),
        fc.constantFrom(...serializations),
        (b, kind, how) => {
          const broken = breakDocument(kind === 'manifest' ? MANIFEST : CLOUD_CONFIG, kind, b);
          const label = `${kind}: ${broken.note.split(' ')[0]}`;
          seen.set(label, (seen.get(label) ?? 0) + 1);
          const text = serialize(broken.doc, how);
          const load = (): void => {
            const m = kind === 'manifest' ? parseManifest(text) : validateManifestObject(MANIFEST);
            const c =
              kind === 'cloud config' ? parseCloudConfig(text) : validateCloudConfigObject(CLOUD_CONFIG);
            validateDeployment(m, c);
          };
          let error: unknown = null;
          try {
            load();
          } catch (err) {
            error = err;
          }
          expect(error, `accepted: ${broken.note}`).toBeInstanceOf(ValidationError);
          const problems = (error as ValidationError).problems;
          expect(
            problems.map((p) => p.path),
            `${broken.note}: ${(error as ValidationError).message}`,
          ).toContain(broken.field);
          count(`broken by construction (${kind})`, 'rejected');
        },
      ),
      runs(600),
    );
    // Every kind of break really happened, in both documents (a cloud config has no references).
    const kinds = [...seen.keys()].sort();
    expect(kinds).toEqual([
      'cloud config: dropped',
      'cloud config: negative',
      'cloud config: unknown',
      'cloud config: wrong',
      'manifest: dangling',
      'manifest: dropped',
      'manifest: negative',
      'manifest: unknown',
      'manifest: wrong',
    ]);
  });

  describe('files → loadDeploymentInputs', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'converge-loader-fuzz-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('mutated pairs, odd encodings (BOM, CRLF, invalid UTF-8), empty and missing files', () => {
      const encodings = ['utf8', 'bom', 'crlf', 'latin1-bytes', 'empty', 'missing', 'directory'] as const;
      let n = 0;
      fc.assert(
        fc.property(
          mutationsArb,
          mutationsArb,
          fc.constantFrom(...encodings),
          fc.boolean(),
          (mm, cm, encoding, breakManifest) => {
            const m = `${dir}/m-${n}.yml`;
            const c = `${dir}/c-${n++}.yml`;
            const manifestText = toYaml(mutate(MANIFEST, breakManifest ? mm : []).doc);
            const cloudText = toYaml(mutate(CLOUD_CONFIG, breakManifest ? [] : cm).doc);
            writeFileSync(c, cloudText);
            switch (encoding) {
              case 'utf8':
                writeFileSync(m, manifestText);
                break;
              case 'bom':
                writeFileSync(m, `\uFEFF${manifestText}`);
                break;
              case 'crlf':
                writeFileSync(m, manifestText.replace(/\n/g, '\r\n'));
                break;
              case 'latin1-bytes':
                writeFileSync(
                  m,
                  Buffer.concat([Buffer.from(manifestText), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x0a])]),
                );
                break;
              case 'empty':
                writeFileSync(m, '');
                break;
              case 'missing':
                break;
              case 'directory':
                return void loads('files → loadDeploymentInputs', () => loadDeploymentInputs(dir, c));
            }
            loads('files → loadDeploymentInputs', () => loadDeploymentInputs(m, c));
          },
        ),
        runs(150),
      );
    });
  });

  it('deep nesting up to 200 levels, as text and as objects', () => {
    for (const depth of [50, 100, 200]) {
      const doc = { ...(MANIFEST as Record<string, Json>), instance_groups: [nested(depth)] };
      loads('deep nesting → parseManifest', () => parseManifest(JSON.stringify(doc)));
      loads('deep nesting → validateManifestObject', () => validateManifestObject(doc));
    }
    for (const depth of [1_000, 20_000]) {
      loads('deep nesting → validateManifestObject', () =>
        validateManifestObject({ ...(MANIFEST as Record<string, Json>), resource_pool: nested(depth) }),
      );
    }
  });

  // Was a bug: yaml's toJS throws a plain ReferenceError for an alias without its anchor and for an
  // alias bomb; readYamlDocument now reports both as syntax problems.
  const typed = (text: string): void => {
    expect(() => parseManifest(text)).toThrow(ValidationError);
  };
  it('an alias without its anchor is rejected as a ValidationError', () => {
    typed('name: *a');
  });
  it('a YAML alias bomb is rejected as a ValidationError', () => {
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x]']
      .concat(['b', 'c', 'd'].map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abc'[i]}`).join(',')}]`))
      .join('\n');
    typed(bomb);
  });
});

// ---------------------------------------------------------------------------------------------
// The real CLI on a sample

/** Inputs rejected in-process, so the CLI must exit 2 on each. */
function cliSample(size: number): { name: string; manifest: string; cloudConfig: string }[] {
  const pairs = fc.sample(
    fc.record({
      mm: mutationsArb,
      cm: mutationsArb,
      which: fc.constantFrom('manifest', 'cloud config', 'both'),
      text: fc.oneof(yamlSoupArb, randomTextArb),
      raw: fc.boolean(),
    }),
    { seed: SEED, numRuns: size * 4 },
  );
  const out: { name: string; manifest: string; cloudConfig: string }[] = [];
  for (const [i, p] of pairs.entries()) {
    const manifest =
      p.raw && p.which === 'manifest'
        ? p.text
        : toYaml(mutate(MANIFEST, p.which === 'cloud config' ? [] : p.mm).doc);
    const cloudConfig =
      p.raw && p.which !== 'manifest'
        ? p.text
        : toYaml(mutate(CLOUD_CONFIG, p.which === 'manifest' ? [] : p.cm).doc);
    let rejected = false;
    try {
      validateDeployment(parseManifest(manifest), parseCloudConfig(cloudConfig));
    } catch (err) {
      rejected = err instanceof ValidationError;
    }
    if (rejected)
      out.push({ name: `sample ${i} (${p.which}${p.raw ? ', raw text' : ''})`, manifest, cloudConfig });
    if (out.length === size) break;
  }
  return out;
}

describe('converge plan on generated bad input', () => {
  const sample = cliSample(Math.round(24 * SCALE));
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'converge-cli-fuzz-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    console.log(`[loader-fuzz] ${sample.length} generated bad inputs through the CLI`);
  });

  it('draws a sample of the asked size', () => {
    expect(sample.length).toBe(Math.round(24 * SCALE));
  });

  it('every sample: exit 2, a problem list on stderr, no stack trace (two processes at a time)', async () => {
    const failures: string[] = [];
    const queue = [...sample];
    const next = async (): Promise<void> => {
      for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
        const id = s.name.replace(/\W+/g, '-');
        const m = `${dir}/${id}.manifest.yml`;
        const c = `${dir}/${id}.cloud-config.yml`;
        writeFileSync(m, s.manifest);
        writeFileSync(c, s.cloudConfig);
        const run = await runConverge(['plan', m, '-c', c]);
        const wrong = [
          run.code !== 2 && `exit ${run.code}`,
          !/^invalid input: \d+ problems?$/m.test(run.stderr) && 'no problem list',
          /^\s+at /m.test(run.stderr) && 'a stack trace',
          run.stdout !== '' && 'output on stdout',
        ].filter((x): x is string => typeof x === 'string');
        if (wrong.length > 0) failures.push(`${s.name}: ${wrong.join(', ')}\n${run.stderr.slice(0, 400)}`);
      }
    };
    await Promise.all([next(), next()]);
    expect(failures).toEqual([]);
  }, 300_000); // ~1.4 s of CPU per process: 20 s on an idle two-core box, minutes on a busy one

  // Was a bug: yaml's composer overflows the stack on ~800 levels of flow nesting, and a second such
  // document in one process made V8 abort. readYamlDocument now refuses nesting deeper than 512.
  it('5,000 levels of flow nesting in both files exit 2, not abort', async () => {
    const deep = `${dir}/deep.yml`;
    writeFileSync(deep, '['.repeat(5000));
    const run = await runConverge(['plan', deep, '-c', deep]);
    expect(run.code, run.stderr.slice(0, 300)).toBe(2);
  });
});
