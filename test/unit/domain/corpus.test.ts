// Every malformed file in the corpus fails with exactly the problems the table names: path, line and
// hint, all of them, in order. The valid examples load.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeError } from '../../../src/client/errors';
import { loadCloudConfig, loadDeploymentInputs, loadManifest } from '../../../src/client/load';
import { ValidationError } from '../../../src/domain/errors';
import {
  CORPUS,
  CORPUS_DIR,
  EXAMPLE_CLOUD_CONFIG,
  EXAMPLE_MANIFEST,
  inputsOf,
  isManifestCase,
} from '../../fixtures/invalid/corpus';

function problemsOf(manifestPath: string, cloudConfigPath: string): ValidationError {
  try {
    loadDeploymentInputs(manifestPath, cloudConfigPath);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error(`expected ${manifestPath} + ${cloudConfigPath} to be rejected`);
}

describe('the invalid-input corpus', () => {
  it('holds at least 35 files, each with an entry in the table and each entry with a file', () => {
    const files = readdirSync(CORPUS_DIR)
      .filter((f) => f.endsWith('.yml'))
      .sort();
    expect(files.length).toBeGreaterThanOrEqual(35);
    expect(CORPUS.map((c) => c.file).sort()).toEqual(files);
  });

  it.each(CORPUS)('$file is rejected: $why', (c) => {
    const [manifestPath, cloudConfigPath] = inputsOf(c);
    const own = isManifestCase(c) ? manifestPath : cloudConfigPath;
    const partner = isManifestCase(c) ? cloudConfigPath : manifestPath;
    const err = problemsOf(manifestPath, cloudConfigPath);

    const reported = (c.syntax ? err.problems.slice(0, 1) : err.problems).map((p) => ({
      path: p.path,
      line: p.line,
      source: p.source,
      ...(c.problems.some((e) => e.hint !== undefined) && p.hint?.startsWith('did you mean')
        ? { hint: p.hint }
        : {}),
    }));
    const expected = c.problems.map((e) => ({
      path: e.path,
      line: e.line,
      source: e.in === 'partner' ? partner : own,
      ...(e.hint !== undefined ? { hint: e.hint } : {}),
    }));
    expect(reported).toEqual(expected);

    if (c.syntax) {
      expect(err.problems.every((p) => p.path === '' && p.message.startsWith('YAML syntax: '))).toBe(true);
    }
    // Every problem says what was wrong, and the rendered error carries its line.
    for (const p of err.problems) {
      expect(p.message.length).toBeGreaterThan(10);
      if (p.line !== null) expect(err.message).toContain(`${p.source ?? ''}:${p.line}:`);
    }
    // What the CLI prints for it (the CLI test runs a sample of these as real processes): exit 2,
    // every problem on its own line, no stack trace even when debugging.
    const printed = describeError(err, true);
    expect(printed.exitCode).toBe(2);
    expect(printed.text.trimEnd().split('\n')).toHaveLength(err.problems.length + 1);
    expect(printed.text).not.toMatch(/^ {4}at /m);
  });
});

describe('the valid examples', () => {
  it('load on their own', () => {
    expect(loadManifest(EXAMPLE_MANIFEST).instance_groups.map((g) => g.name)).toEqual([
      'api',
      'worker',
      'db',
    ]);
    expect(loadCloudConfig(EXAMPLE_CLOUD_CONFIG).vm_types.map((t) => t.name)).toEqual([
      'small',
      'medium',
      'large',
    ]);
  });

  it('load together, with the schema defaults applied', () => {
    const { manifest, cloudConfig } = loadDeploymentInputs(EXAMPLE_MANIFEST, EXAMPLE_CLOUD_CONFIG);
    expect(manifest.instance_groups[1]?.env).toEqual({});
    expect(cloudConfig.networks[0]?.subnets[0]?.static).toEqual(['10.0.0.10-10.0.0.30']);
  });

  it('a missing file is a user error naming the file, not a validation error', () => {
    expect(() => loadManifest(`${CORPUS_DIR}/no-such-file.yml`)).toThrow(
      `cannot read manifest '${CORPUS_DIR}/no-such-file.yml': no such file`,
    );
  });
});
