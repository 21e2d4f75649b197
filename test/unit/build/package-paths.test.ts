// dist/ is split into chunks at other depths than the modules in src/, so a path worked out from
// `import.meta.url` ('../../package.json') is right under tsx and wrong in the compiled CLI. Files of
// the package are found from packageRoot() instead.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/package-root';

const SRC = fileURLToPath(new URL('../../../src', import.meta.url));

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

describe('package paths', () => {
  it('no module under src/ resolves a file relative to its own URL, except package-root.ts', () => {
    const offenders = [...sources(SRC)]
      .filter((f) => !f.endsWith('package-root.ts'))
      .filter((f) => /new URL\([^)]*import\.meta\.url/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(SRC, f));
    expect(offenders).toEqual([]);
  });

  it("packageRoot() is the directory of converge's package.json", () => {
    expect(packageRoot()).toBe(fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, ''));
  });
});
