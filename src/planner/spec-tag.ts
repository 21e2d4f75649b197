// The `converge.spec` server tag: a compact record of what a server was built from, so that a later
// plan can say WHICH fingerprint field changed, with old and new values, even for fields the cloud
// does not show (env, cloud properties, subnet). The fingerprint still decides; this only explains.
import { canonicalJson } from './canonical';
import type { FingerprintFields } from './fingerprint';
import { sha256Hex } from './hash';

/** Planner-owned tag keys (alongside the reserved TAG keys of src/domain/cloud). */
export const PLAN_TAG = {
  spec: 'converge.spec',
} as const;

export interface SpecRecord {
  /** The vm_type's name (labels are not in the fingerprint, but make reasons readable). */
  vmType: string;
  /** Short digests of the parts the cloud cannot show. */
  vm: string;
  az: string;
  env: string;
  networks: { name: string; subnet: string; staticIp: string | null }[];
}

const digest = (value: unknown): string => sha256Hex(canonicalJson(value)).slice(0, 12);

export function specRecord(vmTypeName: string, fields: FingerprintFields): SpecRecord {
  return {
    vmType: vmTypeName,
    vm: digest(fields.vm_type),
    az: digest(fields.az),
    env: digest(fields.env),
    networks: fields.networks.map((n) => ({ name: n.name, subnet: n.subnet, staticIp: n.static_ip })),
  };
}

/** `type=small;vm=…;az=…;env=…;net=default@10.0.0.0%2F24@-` (names URI-encoded). */
export function encodeSpecTag(spec: SpecRecord): string {
  const net = spec.networks
    .map((n) => [n.name, n.subnet, n.staticIp ?? '-'].map(encodeURIComponent).join('@'))
    .join(',');
  return `type=${encodeURIComponent(spec.vmType)};vm=${spec.vm};az=${spec.az};env=${spec.env};net=${net}`;
}

/** Fail closed: anything malformed gives null, and reasons fall back to what the server shows. */
export function parseSpecTag(value: string | undefined): SpecRecord | null {
  if (value === undefined) return null;
  const fields = new Map<string, string>();
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const type = fields.get('type');
  const vm = fields.get('vm');
  const az = fields.get('az');
  const env = fields.get('env');
  const net = fields.get('net');
  if (type === undefined || vm === undefined || az === undefined || env === undefined || net === undefined)
    return null;
  try {
    const networks: SpecRecord['networks'] = [];
    for (const entry of net === '' ? [] : net.split(',')) {
      const bits = entry.split('@').map(decodeURIComponent);
      const [name, subnet, ip] = bits;
      if (bits.length !== 3 || name === undefined || subnet === undefined || ip === undefined) return null;
      networks.push({ name, subnet, staticIp: ip === '-' ? null : ip });
    }
    return { vmType: decodeURIComponent(type), vm, az, env, networks };
  } catch {
    return null; // malformed URI escape
  }
}
