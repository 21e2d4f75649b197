// The operator's trust root: the admin public key every grant must be signed with. It is written
// into this worker's copy of the workflow bundle (the slot in src/workflows/trust-root.ts), so the
// update validators read it as a constant of the code they run: no request and no workflow input can
// bring another one, and a worker with another key runs a different bundle (a new build).
import { readFileSync } from 'node:fs';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { UserError } from '../domain/errors';
import { readSettingFile } from '../setting-file';
import { isPublicKey } from '../domain/permissions';
import { TRUST_ROOT_SLOT } from '../workflows/trust-root';
import type { Env } from '../temporal/connection';

export const TRUST_ROOT_ENV_HELP: ReadonlyArray<readonly [string, string]> = [
  ['CONVERGE_ADMIN_PUBLIC_KEY', 'admin Ed25519 public key (hex): turns permissions on (grants signed by it)'],
  [
    'CONVERGE_ADMIN_PUBLIC_KEY_FILE',
    'a file holding it (or an admin identity file from `converge auth keygen`)',
  ],
];

/** The configured admin public key, or null: then permissions are off. A bad value is a bad setting. */
export function trustRootFromEnv(env: Env): string | null {
  const inline = env.CONVERGE_ADMIN_PUBLIC_KEY?.trim();
  const file = env.CONVERGE_ADMIN_PUBLIC_KEY_FILE?.trim();
  if (inline) return checked(inline, 'CONVERGE_ADMIN_PUBLIC_KEY');
  if (!file) return null;
  const text = readSettingFile('CONVERGE_ADMIN_PUBLIC_KEY_FILE', file).trim();
  // An identity file (JSON with publicKey) or the bare hex key.
  if (text.startsWith('{')) {
    let parsed: { publicKey?: unknown } = {};
    try {
      parsed = JSON.parse(text) as { publicKey?: unknown };
    } catch {
      // not JSON: no publicKey, refused below with the expected form
    }
    const key = typeof parsed.publicKey === 'string' ? parsed.publicKey : '';
    return checked(key, `CONVERGE_ADMIN_PUBLIC_KEY_FILE (${file})`);
  }
  return checked(text, `CONVERGE_ADMIN_PUBLIC_KEY_FILE (${file})`);
}

function checked(key: string, source: string): string {
  const lower = key.toLowerCase();
  if (!isPublicKey(lower)) throw new UserError(`${source}: expected an Ed25519 public key (64 hex digits)`);
  return lower;
}

/** The bundle's code with the trust root in its slot; refuses a bundle that has no slot. */
export function bakeTrustRoot(code: string, key: string): string {
  const parts = code.split(TRUST_ROOT_SLOT);
  if (parts.length < 2) {
    throw new Error('the workflow bundle has no trust-root slot (src/workflows/trust-root.ts): rebuild it');
  }
  return parts.join(key);
}

/** The bundle option a worker runs: as given without a trust root, else a copy with the key baked in. */
export function withTrustRoot(bundle: WorkflowBundleOption, key: string | null): WorkflowBundleOption {
  if (key === null) return bundle;
  if ('code' in bundle) return { ...bundle, code: bakeTrustRoot(bundle.code, key) };
  return { code: bakeTrustRoot(readFileSync(bundle.codePath, 'utf8'), key) };
}

/** The worker's start line: loud when permissions are off. */
export function permissionsLine(key: string | null): string {
  return key === null
    ? 'PERMISSIONS OFF: no CONVERGE_ADMIN_PUBLIC_KEY, so anyone who reaches the namespace may deploy to any resource pool'
    : `permissions on: grants signed by admin key ${key.slice(0, 16)}…`;
}
