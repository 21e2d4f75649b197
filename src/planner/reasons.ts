// Why a VM no longer matches its claim: one small predicate per reason, each naming old → new
// (BOSH's instance_plan `changes`). The fingerprint decides WHETHER to replace; these say WHY.
// Values come from what the server shows (image, size, az, group tag, addresses) and, for what
// the cloud cannot show (env, cloud properties, subnet), from the server's `converge.spec` tag.
import { TAG, type Server } from '../domain/cloud';
import { fingerprintFields } from './fingerprint';
import { encodeSpecTag, PLAN_TAG, parseSpecTag, specRecord, type SpecRecord } from './spec-tag';
import type { Claim } from './types';

/**
 * Per-plan memory: claims of a group share their spec (one per distinct fingerprint + vm_type
 * name) and servers built alike share their tag, so each is computed once, not once per instance.
 */
export class ClaimSpecs {
  /** fingerprint → vm_type name → spec (nested: no key strings built per lookup). */
  private readonly specs = new Map<string, Map<string, { spec: SpecRecord; tag: string }>>();
  private readonly parsed = new Map<string, SpecRecord | null>();
  private readonly changes = new Map<string, string[]>();

  private entry(claim: Claim): { spec: SpecRecord; tag: string } {
    let byName = this.specs.get(claim.fingerprint);
    if (!byName)
      this.specs.set(claim.fingerprint, (byName = new Map<string, { spec: SpecRecord; tag: string }>()));
    let e = byName.get(claim.vmType.name);
    if (!e) {
      const spec = specRecord(claim.vmType.name, fingerprintFields(claim));
      byName.set(claim.vmType.name, (e = { spec, tag: encodeSpecTag(spec) }));
    }
    return e;
  }
  of(claim: Claim): SpecRecord {
    return this.entry(claim).spec;
  }
  /** The `converge.spec` tag a VM built for this claim carries. */
  tag(claim: Claim): string {
    return this.entry(claim).tag;
  }
  parse(tag: string | undefined): SpecRecord | null {
    if (tag === undefined) return null;
    let spec = this.parsed.get(tag);
    if (spec === undefined) this.parsed.set(tag, (spec = parseSpecTag(tag)));
    return spec;
  }
  /** vmChanges, remembered by everything it reads. */
  memo(claim: Claim, server: Server, compute: () => string[]): string[] {
    const t = server.tags;
    const spec = t[PLAN_TAG.spec];
    const shown = spec === undefined ? server.addresses.map((a) => `${a.network}=${a.ip}`).join(',') : spec;
    const key = [
      claim.fingerprint,
      claim.vmType.name,
      t[TAG.fingerprint],
      t[TAG.group],
      server.image.os,
      server.image.version,
      server.cpus,
      server.memory_mb,
      server.disk_gb,
      server.az,
      shown,
    ].join('\u0000');
    let reasons = this.changes.get(key);
    if (!reasons) this.changes.set(key, (reasons = compute()));
    return reasons;
  }
}

interface Seen {
  claim: Claim;
  server: Server;
  /** What the server was built from, or null when its tag is missing or malformed. */
  old: SpecRecord | null;
  now: SpecRecord;
}

type Predicate = (s: Seen) => string[];

export const stemcellChanged: Predicate = ({ claim, server }) => {
  const [was, is] = [server.image, claim.stemcell];
  if (was.os !== is.os) return [`stemcell ${was.os}/${was.version} → ${is.os}/${is.version}`];
  return was.version !== is.version ? [`stemcell ${was.version} → ${is.version}`] : [];
};

export const vmTypeChanged: Predicate = ({ claim, server, old, now }) => {
  const t = claim.vmType;
  const sizes = (['cpus', 'memory_mb', 'disk_gb'] as const)
    .filter((k) => server[k] !== t[k])
    .map((k) => `${k} ${server[k]} → ${t[k]}`);
  if (sizes.length > 0) {
    const label =
      old === null ? t.name : old.vmType === t.name ? `${t.name} resized` : `${old.vmType} → ${t.name}`;
    return [`vm_type ${label} (${sizes.join(', ')})`];
  }
  // Same size: only the cloud properties are left to differ (the name alone never forces a VM).
  return old !== null && old.vm !== now.vm ? [`vm_type ${t.name}: cloud_properties changed`] : [];
};

export const azChanged: Predicate = ({ claim, server, old, now }) => {
  if (server.az !== claim.az) return [`az ${server.az} → ${claim.az}`];
  return old !== null && old.az !== now.az ? [`az ${claim.az}: cloud_properties changed`] : [];
};

export const groupRenamed: Predicate = ({ claim, server }) => {
  const was = server.tags[TAG.group];
  return was !== undefined && was !== claim.group ? [`group renamed ${was} → ${claim.group}`] : [];
};

export const networksChanged: Predicate = ({ claim, server, old }) => {
  const ip = (v: string | null): string => v ?? 'none';
  const out: string[] = [];
  if (old === null) {
    // Only what the server shows: which networks it is on, and its address there.
    for (const n of claim.networks) {
      const address = server.addresses.find((a) => a.network === n.name);
      if (!address) out.push(`network ${n.name} added`);
      else if (n.staticIp !== null && address.ip !== n.staticIp)
        out.push(`network ${n.name}: static IP ${address.ip} → ${n.staticIp}`);
    }
    return out;
  }
  for (const n of claim.networks) {
    const was = old.networks.find((o) => o.name === n.name);
    if (!was) out.push(`network ${n.name} added`);
    else {
      if (was.subnet !== n.subnet)
        out.push(`network ${n.name}: subnet changed (${was.subnet} → ${n.subnet})`);
      if (was.staticIp !== n.staticIp)
        out.push(`network ${n.name}: static IP ${ip(was.staticIp)} → ${ip(n.staticIp)}`);
    }
  }
  for (const o of old.networks)
    if (!claim.networks.some((n) => n.name === o.name)) out.push(`network ${o.name} removed`);
  const order = (names: string[]): string => names.join(', ');
  const common = (list: string[], other: string[]): string[] => list.filter((x) => other.includes(x));
  const was = old.networks.map((o) => o.name);
  const is = claim.networks.map((n) => n.name);
  if (out.length === 0 && order(common(was, is)) !== order(common(is, was)))
    out.push(`networks reordered (${order(was)} → ${order(is)})`);
  return out;
};

export const envChanged: Predicate = ({ old, now }) =>
  old !== null && old.env !== now.env ? ['env changed'] : [];

const PREDICATES: readonly Predicate[] = [
  stemcellChanged,
  vmTypeChanged,
  azChanged,
  groupRenamed,
  networksChanged,
  envChanged,
];

/**
 * Every reason the server no longer matches the claim, in a fixed order. Called when the
 * fingerprints differ; if no predicate can name the difference, it still says so.
 */
export function vmChanges(claim: Claim, server: Server, specs: ClaimSpecs): string[] {
  return specs.memo(claim, server, () => [...computeChanges(claim, server, specs)]);
}

function computeChanges(claim: Claim, server: Server, specs: ClaimSpecs): string[] {
  const seen: Seen = { claim, server, old: specs.parse(server.tags[PLAN_TAG.spec]), now: specs.of(claim) };
  const reasons = PREDICATES.flatMap((p) => p(seen));
  if (reasons.length > 0) return reasons;
  const was = server.tags[TAG.fingerprint];
  return [
    was === undefined
      ? 'VM settings unknown (server carries no fingerprint)'
      : `cloud properties changed (fingerprint ${was.slice(0, 8)} → ${claim.fingerprint.slice(0, 8)})`,
  ];
}

/**
 * A reason's machine code, as BOSH's change symbols: scripts match on `stemcell_changed`, people read
 * `stemcell 1.181 → 1.182`. Every reason the planner writes has one (a test holds it to that); a text
 * it does not know is `other`. First match wins, so the more specific prefixes come first.
 */
const REASON_CODES = [
  [/^new instance/, 'new_instance'],
  [/^missing VM/, 'missing_vm'],
  [/^failed server/, 'failed_server'],
  [/^--recreate/, 'recreate'],
  [/^detached/, 'detached'],
  [/^orphan/, 'orphan'],
  [/^stray allocation/, 'stray_allocation'],
  [/^stray volume/, 'stray_volume'],
  [/^duplicate server/, 'duplicate'],
  [/^server \S+ (of \S+ )?is being deleted/, 'server_deleting'],
  [/^stemcell /, 'stemcell_changed'],
  [/^vm_type /, 'vm_type_changed'],
  [/^az /, 'az_changed'],
  [/^group renamed /, 'group_renamed'],
  [/^group \S+ removed$/, 'group_removed'],
  [/^scale down/, 'scale_down'],
  [/^networks? /, 'network_changed'],
  [/^env changed/, 'env_changed'],
  [/^cloud properties changed/, 'cloud_properties_changed'],
  [/^VM settings unknown/, 'vm_settings_unknown'],
  [/^delete_create instead of hot_swap/, 'static_ip_delete_create'],
  [/^waits for \S+ held by /, 'address_being_freed'],
  // Power (power.ts): the code names the step, the text why (`stop: requested by instance-action api/0`).
  [/^stop: /, 'power_off'],
  [/^start: /, 'power_on'],
  [/^reboot: /, 'reboot'],
] as const;

export type ReasonCode = (typeof REASON_CODES)[number][1] | 'other';

export function reasonCode(reason: string): ReasonCode {
  return REASON_CODES.find(([re]) => re.test(reason))?.[1] ?? 'other';
}
