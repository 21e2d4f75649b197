// The prebuilt workflow bundle is used only while it matches the sources it was built from: the hash
// scripts/build.mjs records (scripts/source-hash.mjs) and the one build-info.ts checks, on a scratch tree.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sourceHash } from '../../../scripts/source-hash.mjs';
import { findPrebuiltWorkflowBundle } from '../../../src/workers/build-info';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'converge-build-info-'));
  mkdirSync(join(root, 'src', 'workflows'), { recursive: true });
  mkdirSync(join(root, 'scripts'));
  for (const script of ['build.mjs', 'source-hash.mjs'])
    cpSync(join(REPO, 'scripts', script), join(root, 'scripts', script));
  writeFileSync(join(root, 'package.json'), '{"name":"converge","version":"0.0.0"}\n');
  writeFileSync(join(root, 'package-lock.json'), '{}\n');
  writeFileSync(join(root, 'src', 'workflows', 'index.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'src', 'notes.md'), 'not an input\n');
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

function buildScriptHash(): string {
  return execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--print-source-hash'], {
    encoding: 'utf8',
  }).trim();
}

function writeBuild(bundle: string, hash: string = sourceHash(root)): void {
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(join(root, 'dist', 'workflow-bundle.js'), bundle);
  const sha256 = createHash('sha256').update(bundle).digest('hex');
  const info = { version: '0.0.0', sourceHash: hash, workflowBundle: { file: 'workflow-bundle.js', sha256 } };
  writeFileSync(join(root, 'dist', 'build-info.json'), JSON.stringify(info));
}

describe('source hash', () => {
  it('is the same from scripts/build.mjs --print-source-hash and from the module', () => {
    expect(sourceHash(root)).toMatch(/^[0-9a-f]{64}$/);
    expect(buildScriptHash()).toBe(sourceHash(root));
  });

  it('changes with a source file and stays the same for files that are not inputs', () => {
    const before = sourceHash(root);
    writeFileSync(join(root, 'src', 'notes.md'), 'edited\n');
    expect(sourceHash(root)).toBe(before);
    writeFileSync(join(root, 'src', 'workflows', 'index.ts'), 'export const a = 2;\n');
    expect(sourceHash(root)).not.toBe(before);
    expect(buildScriptHash()).toBe(sourceHash(root));
  });
});

describe('prebuilt workflow bundle', () => {
  it('is used when built from the current sources', () => {
    writeBuild('/* bundle */');
    expect(findPrebuiltWorkflowBundle(root)).toEqual({
      codePath: join(root, 'dist', 'workflow-bundle.js'),
      sha256: createHash('sha256').update('/* bundle */').digest('hex'),
    });
  });

  it('is not used once a source changed after the build', () => {
    writeBuild('/* bundle */');
    writeFileSync(join(root, 'src', 'workflows', 'index.ts'), 'export const a = 3;\n');
    expect(findPrebuiltWorkflowBundle(root)).toBeNull();
  });

  it('is not used when the file does not match its recorded sha256', () => {
    writeBuild('/* bundle */');
    writeFileSync(join(root, 'dist', 'workflow-bundle.js'), '/* tampered */');
    expect(findPrebuiltWorkflowBundle(root)).toBeNull();
  });

  it('is trusted without sources (an installed package ships dist/ only)', () => {
    writeBuild('/* bundle */', 'built-elsewhere');
    rmSync(join(root, 'src'), { recursive: true });
    expect(findPrebuiltWorkflowBundle(root)?.codePath).toBe(join(root, 'dist', 'workflow-bundle.js'));
  });

  it('is absent without a build', () => {
    expect(findPrebuiltWorkflowBundle(root)).toBeNull();
  });
});
