// The package's root directory, found from this module whether it runs from src/ (tsx, tests) or as
// a chunk of dist/ (where the depth below the root depends on how esbuild split the code).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && isConverge(manifest)) return (root = dir);
    if (dirname(dir) === dir)
      throw new Error(`converge: no package.json above ${fileURLToPath(import.meta.url)}`);
  }
}

function isConverge(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown }).name === 'converge';
  } catch {
    return false;
  }
}

/** package.json's version (`converge --version`, the default build id of a versioned worker). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
}
