// The hash of the sources a build reads, in plain JavaScript so scripts/build.mjs can run it before
// anything is compiled. scripts/build.mjs records it in dist/build-info.json; src/workers/build-info.ts
// compares it with the current sources to tell whether the prebuilt workflow bundle is stale.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * sha256 over src/ (.ts, .mts, .json), package.json, package-lock.json, scripts/build.mjs and this file (all
 * that can change the build's output): each file's path, length and bytes, in path order.
 */
export function sourceHash(root) {
  const files = [
    ...walk(join(root, 'src')),
    join(root, 'package.json'),
    join(root, 'package-lock.json'),
    join(root, 'scripts', 'build.mjs'),
    join(root, 'scripts', 'source-hash.mjs'),
  ]
    .map((f) => relative(root, f).split('\\').join('/'))
    .sort();
  const hash = createHash('sha256');
  for (const file of files) {
    const content = readFileSync(join(root, file));
    hash.update(`${file}\0${content.length}\0`);
    hash.update(content);
  }
  return hash.digest('hex');
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (/\.(ts|mts|json)$/.test(entry.name)) yield path;
  }
}
