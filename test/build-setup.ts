// Both vitest projects run the compiled CLI (bin/converge.mjs runs dist/) and the integration workers
// load the prebuilt workflow bundle: build first when the sources changed since the last build.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export function ensureBuilt(): void {
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: ROOT, stdio: 'inherit' });
}

export default function setup(): void {
  ensureBuilt();
}
