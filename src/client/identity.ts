// A user's identity on disk: a name, an Ed25519 key pair and the grants an admin signed for its key.
// The CLI signs each request with it (src/domain/permissions.ts); the worker checks.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { UserError } from '../domain/errors';
import {
  MAX_REQUEST_TTL_MS,
  claimMessage,
  grantMessage,
  isPublicKey,
  parseSignedGrant,
  publicKeyOf,
  sign,
  type Grant,
  type RequestKind,
  type SignedGrant,
  type SignedRequest,
} from '../domain/permissions';
import { packageRoot } from '../package-root';
import { requestDigest } from '../workflows/signed-requests';

export interface Identity {
  principal: string;
  publicKey: string;
  secretKey: string;
  grants: SignedGrant[];
}

/** How long a signed request lives: long enough for a slow link, short enough to bound replay. */
export const REQUEST_TTL_MS = 5 * 60_000;

export function newIdentity(principal: string): Identity {
  const secretKey = bytesToHex(randomBytes(32));
  return { principal, publicKey: publicKeyOf(secretKey), secretKey, grants: [] };
}

/**
 * Where the CLI finds its identity: $CONVERGE_IDENTITY; else the one `converge dev up` made for this
 * checkout's stack ($CONVERGE_DEV_DIR or .converge/identity.json), when it exists; else the user's
 * (~/.config/converge/identity.json, written by `converge auth keygen`).
 */
export function identityPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const explicit = env.CONVERGE_IDENTITY?.trim();
  if (explicit) return explicit;
  const dev = join(env.CONVERGE_DEV_DIR?.trim() || join(packageRoot(), '.converge'), 'identity.json');
  if (existsSync(dev)) return dev;
  return userIdentityPath();
}

export function userIdentityPath(): string {
  return join(homedir(), '.config', 'converge', 'identity.json');
}

/** The identity at `path`, or null when there is none; a damaged file is the user's to fix. */
export function readIdentity(path: string): Identity | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UserError(`${path}: not a converge identity (not JSON)`);
  }
  const r = raw as Partial<Record<keyof Identity, unknown>>;
  if (
    typeof r.principal !== 'string' ||
    typeof r.secretKey !== 'string' ||
    !/^[0-9a-f]{64}$/.test(r.secretKey) ||
    !Array.isArray(r.grants)
  ) {
    throw new UserError(`${path}: not a converge identity (needs principal, secretKey, grants)`);
  }
  const grants = r.grants.map((g, i) => {
    const parsed = parseSignedGrant(g);
    if (parsed === null) throw new UserError(`${path}: grants[${i}] is not a signed grant`);
    return parsed;
  });
  // Derived on first use: deriving costs ~0.1 s (the curve's precomputation) that a read-only command
  // such as `status` need not pay.
  const secretKey = r.secretKey;
  let publicKey: string | undefined;
  return {
    principal: r.principal,
    secretKey,
    grants,
    get publicKey(): string {
      return (publicKey ??= publicKeyOf(secretKey));
    },
  };
}

/** Written owner-only: the file holds a private key. */
export function writeIdentity(path: string, identity: Identity): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(identity, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** An admin's signature on a grant of `permission` on `pool` to the holder of `key`. */
export function signGrant(admin: Identity, grant: Grant): SignedGrant {
  if (!isPublicKey(grant.key)) throw new UserError(`not an Ed25519 public key (64 hex digits): ${grant.key}`);
  return { grant, signature: sign(grantMessage(grant), admin.secretKey) };
}

/** The signature block for one request, valid REQUEST_TTL_MS from `now`. */
export function signRequest(
  identity: Identity,
  deployment: string,
  request: RequestKind,
  args: unknown,
  now: number = Date.now(),
): SignedRequest {
  const ttl = Math.min(REQUEST_TTL_MS, MAX_REQUEST_TTL_MS);
  // What the workflow will see: the data converter drops undefined members.
  const delivered: unknown = JSON.parse(JSON.stringify(args ?? null));
  const claim = {
    deployment,
    request,
    digest: requestDigest(delivered),
    expires: now + ttl,
    nonce: bytesToHex(randomBytes(16)),
  };
  return {
    principal: identity.principal,
    key: identity.publicKey,
    claim,
    signature: sign(claimMessage(identity.principal, identity.publicKey, claim), identity.secretKey),
    grants: identity.grants.filter((g) => g.grant.key === identity.publicKey),
  };
}
