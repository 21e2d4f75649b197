// Who may do what to which resource pool: Ed25519-signed grants and requests, checked with pure JS
// (@noble/curves) so the deployment entity's update validators can run it inside Temporal's sandbox.
// The one trust root is the admin public key of the operator's worker; nothing a request carries can
// replace it, so a first deploy cannot bring its own admin.
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';

export const PERMISSIONS = ['CLOUD_CREATE', 'CLOUD_ADMIN'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** What a request asks for; each needs a permission on the deployment's pool(s) (see REQUIRED). */
export const REQUEST_KINDS = [
  'deploy',
  'stop',
  'stop-hard',
  'start',
  'recreate',
  'delete',
  'instance-action',
  'cancel',
  'hard-stop-now',
  'cck',
] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/**
 * CLOUD_CREATE makes or changes VMs (deploy, scale, recreate, start, power actions, a soft stop);
 * CLOUD_ADMIN destroys or interrupts (stop --hard, delete, cancel). Reading needs nothing.
 */
export const REQUIRED: Record<RequestKind, Permission> = {
  deploy: 'CLOUD_CREATE',
  stop: 'CLOUD_CREATE',
  'stop-hard': 'CLOUD_ADMIN',
  start: 'CLOUD_CREATE',
  recreate: 'CLOUD_CREATE',
  delete: 'CLOUD_ADMIN',
  'instance-action': 'CLOUD_CREATE',
  cancel: 'CLOUD_ADMIN',
  'hard-stop-now': 'CLOUD_ADMIN',
  /** A resolution may delete servers and disks. */
  cck: 'CLOUD_ADMIN',
};

/** A grant's pool that matches every pool (what `converge dev up` gives the local admin). */
export const ANY_POOL = '*';

/** Longest a signed request may live: it bounds the replay window and each entity's nonce store. */
export const MAX_REQUEST_TTL_MS = 10 * 60_000;
/** Clock difference tolerated between the signing CLI and the workflow's clock. */
export const CLOCK_SKEW_MS = 2 * 60_000;

// Signed grants and requests arrive from outside (a CLI, or anyone who reaches the namespace): their
// shapes are checked with these schemas before any signature is.
const grantSchema = z.object({
  principal: z.string(),
  /** The principal's Ed25519 public key, hex: a grant belongs to a key, not to a name. */
  key: z.string(),
  permission: z.enum(PERMISSIONS),
  pool: z.string(),
  /** ms since epoch, or null for a grant that does not expire. */
  expires: z.number().nullable(),
});
export type Grant = z.infer<typeof grantSchema>;

const signedGrantSchema = z.object({
  grant: grantSchema,
  /** The admin's signature over the grant (hex). */
  signature: z.string(),
});
export type SignedGrant = z.infer<typeof signedGrantSchema>;

const requestClaimSchema = z.object({
  deployment: z.string(),
  request: z.enum(REQUEST_KINDS),
  /** sha256 of the request's canonical JSON: the signature covers exactly these inputs. */
  digest: z.string(),
  /** ms since epoch. */
  expires: z.number(),
  nonce: z.string(),
});
export type RequestClaim = z.infer<typeof requestClaimSchema>;

/** What the CLI sends beside each update's request. */
const signedRequestSchema = z.object({
  principal: z.string(),
  key: z.string(),
  claim: requestClaimSchema,
  signature: z.string(),
  grants: z.array(signedGrantSchema),
});
export type SignedRequest = z.infer<typeof signedRequestSchema>;

export function grantMessage(grant: Grant): Uint8Array {
  return utf8ToBytes(`converge-grant-v1\n${flatJson({ ...grant })}`);
}

export function claimMessage(principal: string, key: string, claim: RequestClaim): Uint8Array {
  return utf8ToBytes(`converge-request-v1\n${flatJson({ principal, key, ...claim })}`);
}

export function publicKeyOf(secretKeyHex: string): string {
  return bytesToHex(ed25519.getPublicKey(hexToBytes(secretKeyHex)));
}

export function sign(message: Uint8Array, secretKeyHex: string): string {
  return bytesToHex(ed25519.sign(message, hexToBytes(secretKeyHex)));
}

/** False for anything malformed as well as for a wrong signature: forged input never throws past here. */
export function verify(signatureHex: string, message: Uint8Array, publicKeyHex: string): boolean {
  if (!isHex(signatureHex, 64) || !isHex(publicKeyHex, 32)) return false;
  try {
    return ed25519.verify(hexToBytes(signatureHex), message, hexToBytes(publicKeyHex));
  } catch {
    return false;
  }
}

export function isPublicKey(value: string): boolean {
  return isHex(value, 32);
}

/** What the validator knows for one request: everything here comes from the entity, none from the request. */
export interface RequestContext {
  /** The worker's admin public key. */
  trustRoot: string;
  deployment: string;
  request: RequestKind;
  digest: string;
  /** Every pool the request touches (a deploy that moves pools touches both). */
  pools: readonly string[];
  /** The workflow's clock, ms. */
  now: number;
  /** Whether this nonce was already accepted by this entity. */
  seen: (nonce: string) => boolean;
}

export type Verdict =
  { ok: true; principal: string; nonce: string; expires: number } | { ok: false; reason: string };

/** Checks signature, claim (deployment, kind, digest, expiry, nonce) and grants, in that order. */
export function authorize(signed: unknown, ctx: RequestContext): Verdict {
  const denied = (reason: string): Verdict => ({ ok: false, reason: `permission denied: ${reason}` });
  if (signed === undefined || signed === null) {
    return denied(
      `the ${ctx.request} request is not signed; this worker enforces permissions ` +
        `(create a key with 'converge auth keygen' and ask an admin for a grant)`,
    );
  }
  const req = parseSignedRequest(signed);
  if (req === null) return denied(`the ${ctx.request} request's signature block is malformed`);
  const who = req.principal;
  if (!verify(req.signature, claimMessage(req.principal, req.key, req.claim), req.key)) {
    return denied(`the request signature does not verify for ${who}`);
  }
  const c = req.claim;
  if (c.deployment !== ctx.deployment) {
    return denied(`${who}'s request was signed for deployment '${c.deployment}', not '${ctx.deployment}'`);
  }
  if (c.request !== ctx.request) {
    return denied(`${who}'s request was signed for ${c.request}, not ${ctx.request}`);
  }
  if (c.digest !== ctx.digest) return denied(`${who}'s request does not match what was signed`);
  if (c.expires <= ctx.now) return denied(`${who}'s request expired at ${new Date(c.expires).toISOString()}`);
  if (c.expires - ctx.now > MAX_REQUEST_TTL_MS + CLOCK_SKEW_MS) {
    return denied(`${who}'s request lives longer than ${MAX_REQUEST_TTL_MS / 60_000} minutes`);
  }
  if (ctx.seen(c.nonce)) return denied(`${who}'s request was already used (a replayed request)`);
  const permission = REQUIRED[ctx.request];
  for (const pool of ctx.pools) {
    const held = req.grants.some((g) => grants(g, req.key, permission, pool, ctx));
    if (!held) return denied(`${who} lacks ${permission} on resource pool '${pool}'`);
  }
  return { ok: true, principal: who, nonce: c.nonce, expires: c.expires };
}

/** A grant counts when the admin signed it, for this key, unexpired, for the pool; ADMIN implies CREATE. */
function grants(
  g: SignedGrant,
  key: string,
  permission: Permission,
  pool: string,
  ctx: RequestContext,
): boolean {
  const { grant } = g;
  if (grant.key !== key) return false;
  if (grant.pool !== pool && grant.pool !== ANY_POOL) return false;
  if (grant.permission !== permission && grant.permission !== 'CLOUD_ADMIN') return false;
  if (grant.expires !== null && grant.expires <= ctx.now) return false;
  return verify(g.signature, grantMessage(grant), ctx.trustRoot);
}

/** Structural check of untrusted input; null when anything is missing or of the wrong type. */
export function parseSignedRequest(value: unknown): SignedRequest | null {
  const parsed = signedRequestSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

export function parseSignedGrant(value: unknown): SignedGrant | null {
  const parsed = signedGrantSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

function isHex(value: string, bytes: number): boolean {
  return value.length === bytes * 2 && /^[0-9a-f]+$/.test(value);
}

/** A flat record's JSON with sorted keys: the signed text of grants and claims (strings, numbers, null). */
function flatJson(record: Record<string, string | number | null>): string {
  const keys = Object.keys(record).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(record[k])}`).join(',')}}`;
}
