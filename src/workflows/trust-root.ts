// The admin public key this workflow bundle trusts. The worker writes it into its copy of the bundle
// at start (src/workers/trust-root.ts replaces TRUST_ROOT_SLOT below), so it comes from the operator's
// worker configuration, never from a workflow input or a request, and a new key is a new bundle.
// Left as is (no key configured), permissions are off.

/** The placeholder the worker replaces; any text that is not a 32-byte hex key means "no trust root". */
export const TRUST_ROOT_SLOT = 'CONVERGE_TRUST_ROOT_SLOT_b7f3c1d2e9a84f60a5c0d1e2f3a4b5c6d7e8f9a0';

const baked: string = TRUST_ROOT_SLOT;

/** The admin public key (hex), or null when the worker configured none. */
export function trustRoot(): string | null {
  return /^[0-9a-f]{64}$/.test(baked) ? baked : null;
}
