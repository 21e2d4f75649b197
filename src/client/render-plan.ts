// The one plan renderer, for `converge plan` (offline or live) and `converge deploy`: per group, one
// line per instance (`+ create`, `~ replace (hot_swap)`, `- delete`, `= keep`) with where it goes
// (AZ, vm_type, IPs, disk), every reason and a destructive mark; then cleanup, warnings, totals and
// the quota peak. Its JSON twin has the same content in snake_case. Pure: data in, text out.
import type { CloudConfig } from '../domain/cloud-config';
import type { Manifest, VmStrategy } from '../domain/manifest';
import { instanceName, type InstanceRecord } from '../domain/instance';
import { inputWarnings } from '../planner/advice';
import { patent as patentOf, placementsFor, reasonCode } from '../planner/index';
import type {
  Claim,
  Embodiment,
  GroupPolicy,
  InstanceAction,
  InstancePlan,
  Obligation,
  Patent,
} from '../planner/types';
import type { PlanView, StatusRow } from '../workflows/types';

/** Where a plan's picture of the cloud came from: the header says so, scripts read it from the JSON. */
export type PlanSource =
  | { kind: 'offline' }
  | { kind: 'snapshot'; file: string }
  | { kind: 'live'; operation: string; dryRun: boolean };

export interface PlannedIp {
  address: string;
  /** static: from the manifest, kept across replacement; current: what the VM holds now. */
  kind: 'static' | 'current';
}

export interface PlannedInstance extends InstancePlan {
  group: string;
  az: string | null;
  vmType: string | null;
  ips: PlannedIp[];
  persistentDiskGb: number | null;
}

export interface PlannedGroup {
  name: string;
  /** null: the group chose none and the worker's default applies (unknown to a live plan's client). */
  strategy: VmStrategy | null;
  canaries: number;
  maxInFlight: number;
  serial: boolean;
}

export interface PlanDocument {
  deployment: string;
  resourcePool: string | null;
  source: PlanSource;
  groups: PlannedGroup[];
  instances: PlannedInstance[];
  /** Steps of no instance: orphans and strays. */
  cleanup: { id: string; kind: string; instance: string; reasons: string[] }[];
  steps: { id: string; kind: string; instance: string; dependsOn: string[]; reasons: string[] }[];
  quotaPeak: { cpus: number; memory_mb: number; instances: number };
  warnings: string[];
}

// ---------------------------------------------------------------------------------------------
// Building a document

/** Where each instance is now: IPs by instance name. */
export type CurrentIps = ReadonlyMap<string, readonly string[]>;

/** `converge plan` offline (empty cloud or a snapshot): the obligation and the patent it came from. */
export function offlineDocument(
  obligation: Obligation,
  thePatent: Patent,
  manifest: Manifest,
  cloudConfig: CloudConfig,
  source: PlanSource,
  embodied: Embodiment,
): PlanDocument {
  const current = new Map(
    embodied.instances.map((e) => [instanceName(e.record), (e.server?.addresses ?? []).map((a) => a.ip)]),
  );
  const azOf = new Map(embodied.instances.map((e) => [instanceName(e.record), e.record.az]));
  return documentOf(obligation, thePatent, manifest, cloudConfig, source, {
    groups: obligation.groups.map((g) => plannedGroup(g, g.strategy)),
    current,
    azOf,
  });
}

/**
 * A plan the operation made against the live deployment (deploy, `plan -d`, a dry run), with what
 * the client knows besides: the inputs (AZ, vm_type, static IPs, disks) and the status (current IPs).
 */
export function liveDocument(
  plan: PlanView,
  manifest: Manifest,
  cloudConfig: CloudConfig,
  rows: readonly StatusRow[],
  opts: { dryRun: boolean },
): PlanDocument {
  const records: InstanceRecord[] = rows.map((r) => ({
    id: r.instance.slice(r.instance.indexOf('/') + 1),
    group: r.group,
    index: r.index,
    az: r.az,
    bootstrap: false,
    state: r.state === 'stopped' || r.state === 'detached' ? r.state : 'started',
  }));
  // The worker's default strategy is not known here; groups that choose none say so.
  const thePatent = patentOf(manifest, cloudConfig, placementsFor(manifest, records), {
    defaultStrategy: 'delete_create',
  });
  const source = { kind: 'live', operation: plan.operation, dryRun: opts.dryRun } as const;
  return documentOf(plan, thePatent, manifest, cloudConfig, source, {
    groups: thePatent.groups.map((g) => plannedGroup(g, g.strategyExplicit ? g.strategy : null)),
    current: new Map(rows.map((r) => [r.instance, r.ips])),
    azOf: new Map(rows.map((r) => [r.instance, r.az])),
  });
}

/** The document of a plan, offline (the obligation) or live (the operation's view of it). */
function documentOf(
  plan: Obligation | PlanView,
  thePatent: Patent,
  manifest: Manifest,
  cloudConfig: CloudConfig,
  source: PlanSource,
  known: { groups: PlannedGroup[]; current: CurrentIps; azOf: ReadonlyMap<string, string> },
): PlanDocument {
  return {
    deployment: manifest.name,
    resourcePool: manifest.resource_pool,
    source,
    groups: known.groups,
    instances: planned(plan.instances, thePatent, known.current, known.azOf),
    ...stepsOf(plan.instances, plan.steps),
    quotaPeak: { ...plan.quotaPeak },
    warnings: [...plan.warnings, ...inputWarnings(manifest, cloudConfig, thePatent)],
  };
}

function plannedGroup(g: GroupPolicy, strategy: VmStrategy | null): PlannedGroup {
  return { name: g.name, strategy, canaries: g.canaries, maxInFlight: g.maxInFlight, serial: g.serial };
}

function planned(
  plans: readonly InstancePlan[],
  thePatent: Patent,
  current: CurrentIps,
  azOf: ReadonlyMap<string, string>,
): PlannedInstance[] {
  const claims = new Map<string, Claim>(thePatent.claims.map((c) => [c.id, c]));
  return plans.map((p) => {
    const claim = p.claim === null || p.action === 'delete' ? undefined : claims.get(p.claim);
    const statics = claim?.networks.flatMap((n) => (n.staticIp === null ? [] : [n.staticIp])) ?? [];
    const ips: PlannedIp[] =
      statics.length > 0
        ? statics.map((address) => ({ address, kind: 'static' }))
        : (current.get(p.instance) ?? []).map((address) => ({ address, kind: 'current' }));
    return {
      ...p,
      reasons: [...p.reasons],
      group: p.instance.slice(0, p.instance.indexOf('/')),
      az: claim?.az ?? azOf.get(p.instance) ?? null,
      vmType: claim?.vmType.name ?? null,
      ips,
      persistentDiskGb: claim?.persistentDisk?.size_gb ?? null,
    };
  });
}

function stepsOf(
  instances: readonly InstancePlan[],
  steps: readonly {
    id: string;
    kind: string;
    instance: string;
    dependsOn: readonly string[];
    reasons: readonly string[];
  }[],
): Pick<PlanDocument, 'cleanup' | 'steps'> {
  const names = new Set(instances.map((p) => p.instance));
  const all = steps.map((s) => ({
    id: s.id,
    kind: s.kind,
    instance: s.instance,
    dependsOn: [...s.dependsOn],
    reasons: [...s.reasons],
  }));
  return {
    steps: all,
    cleanup: all
      .filter((s) => !names.has(s.instance))
      .map((s) => ({ id: s.id, kind: s.kind, instance: s.instance, reasons: s.reasons })),
  };
}

// ---------------------------------------------------------------------------------------------
// Text

const SIGN: Record<InstanceAction, string> = { create: '+', replace: '~', delete: '-', keep: '=' };

export function summaryOf(doc: PlanDocument): Record<InstanceAction, number> {
  const s = { create: 0, replace: 0, delete: 0, keep: 0 };
  for (const p of doc.instances) s[p.action]++;
  return s;
}

export const hasChanges = (doc: PlanDocument): boolean => doc.steps.length > 0;

function header(doc: PlanDocument): string {
  const pool = doc.resourcePool === null ? '' : ` (resource pool ${doc.resourcePool})`;
  const what = hasChanges(doc) ? `Plan for ${doc.deployment}${pool}` : `${doc.deployment}${pool}`;
  switch (doc.source.kind) {
    case 'offline':
      return (
        `${what}: OFFLINE, against an empty cloud (every instance shows as new)\n` +
        `  against the live deployment: converge plan -d ${doc.deployment} MANIFEST -c CLOUD_CONFIG`
      );
    case 'snapshot':
      return `${what}, offline against the snapshot ${doc.source.file}`;
    case 'live':
      return doc.source.dryRun
        ? `${what}, against the live deployment (${doc.source.operation}, a dry run: nothing changed)`
        : `${what}, against the live deployment (${doc.source.operation})`;
  }
}

function where(p: PlannedInstance): string {
  const parts: string[] = [];
  if (p.az !== null) parts.push(p.az);
  if (p.vmType !== null) parts.push(p.vmType);
  if (p.ips.length > 0) parts.push(p.ips.map((ip) => `${ip.address} (${ip.kind})`).join(', '));
  else if (p.action === 'create') parts.push('dynamic IP');
  if (p.persistentDiskGb !== null) parts.push(`disk ${p.persistentDiskGb} GB`);
  return parts.join(', ');
}

function destructiveNote(p: PlannedInstance): string {
  if (p.action === 'delete') return 'destructive: VM and disks deleted, IP released';
  const keepsIp = p.ips.length > 0 && p.ips.every((ip) => ip.kind === 'static');
  return keepsIp
    ? 'destructive: local disk lost (static IP kept)'
    : 'destructive: local disk lost, IP may change';
}

function instanceLines(p: PlannedInstance, showKeeps: boolean): string[] {
  if (p.action === 'keep' && p.reasons.length === 0 && !showKeeps) return [];
  const what = p.action === 'replace' && p.strategy !== null ? `replace (${p.strategy})` : p.action;
  const lines = [`  ${SIGN[p.action]} ${what.padEnd(23)} ${p.claim ?? '(no claim)'}  ${p.instance}`];
  const at = where(p);
  if (at !== '') lines.push(`      @ ${at}`);
  for (const r of p.reasons) lines.push(`      ${r}`);
  if (p.destructive) lines.push(`      ! ${destructiveNote(p)}`);
  return lines;
}

export function renderPlan(doc: PlanDocument, opts: { showKeeps?: boolean } = {}): string {
  const s = summaryOf(doc);
  const lines = [header(doc)];
  if (!hasChanges(doc))
    lines.push(`converged: ${s.keep} instance${s.keep === 1 ? '' : 's'} up to date, nothing to do.`);

  const byGroup = new Map<string, PlannedInstance[]>();
  for (const p of doc.instances) {
    const list = byGroup.get(p.group);
    if (list) list.push(p);
    else byGroup.set(p.group, [p]);
  }
  // A converged plan lists every instance; otherwise unchanged ones are counted, not listed.
  const showKeeps = opts.showKeeps ?? !hasChanges(doc);
  const policies = new Map(doc.groups.map((g) => [g.name, g]));
  const order = [
    ...doc.groups.map((g) => g.name),
    ...[...byGroup.keys()].filter((g) => !policies.has(g)).sort(),
  ];
  for (const name of order) {
    const plans = byGroup.get(name) ?? [];
    if (plans.length === 0) continue;
    const g = policies.get(name);
    const policy = g
      ? ` (${g.strategy ?? "worker's default strategy"}, canaries ${g.canaries}, max_in_flight ${g.maxInFlight}${g.serial ? ', serial' : ''})`
      : ' (removed from the manifest)';
    lines.push('', `${name}${policy}`, ...plans.flatMap((p) => instanceLines(p, showKeeps)));
    const hidden = plans.filter((p) => instanceLines(p, showKeeps).length === 0).length;
    if (hidden > 0) lines.push(`  = ${hidden} unchanged`);
  }

  if (doc.cleanup.length > 0) {
    lines.push('', 'cleanup');
    for (const st of doc.cleanup)
      lines.push(`  - ${st.kind} ${st.instance}`, ...st.reasons.map((r) => `      ${r}`));
  }
  if (doc.warnings.length > 0) {
    lines.push('', 'warnings');
    for (const w of doc.warnings) lines.push(`  ! ${w}`);
  }

  const destructive = doc.instances.filter((p) => p.destructive).length;
  const q = doc.quotaPeak;
  lines.push(
    '',
    `Totals: ${s.create} create, ${s.replace} replace, ${s.delete} delete, ${s.keep} keep; ` +
      `${doc.steps.length} step${doc.steps.length === 1 ? '' : 's'}` +
      (destructive > 0 ? `, ${destructive} destructive` : ''),
    `Quota peak: ${q.cpus} cpus, ${q.memory_mb} memory_mb, ${q.instances} instances`,
  );
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// JSON: the same content, snake_case keys, insertion-ordered (identical plans print identical bytes)

export function planJsonView(doc: PlanDocument) {
  return {
    deployment: doc.deployment,
    resource_pool: doc.resourcePool,
    source: doc.source.kind,
    ...(doc.source.kind === 'snapshot' ? { snapshot: doc.source.file } : {}),
    ...(doc.source.kind === 'live' ? { operation: doc.source.operation, dry_run: doc.source.dryRun } : {}),
    converged: !hasChanges(doc),
    summary: summaryOf(doc),
    groups: doc.groups.map((g) => ({
      name: g.name,
      strategy: g.strategy,
      canaries: g.canaries,
      max_in_flight: g.maxInFlight,
      serial: g.serial,
    })),
    instances: doc.instances.map((p) => ({
      instance: p.instance,
      claim: p.claim,
      group: p.group,
      action: p.action,
      strategy: p.strategy,
      az: p.az,
      vm_type: p.vmType,
      ips: p.ips.map((ip) => ({ address: ip.address, kind: ip.kind })),
      persistent_disk_gb: p.persistentDiskGb,
      reasons: [...p.reasons],
      reason_codes: p.reasons.map(reasonCode),
      destructive: p.destructive,
    })),
    cleanup: doc.cleanup.map((c) => ({
      id: c.id,
      kind: c.kind,
      instance: c.instance,
      reasons: [...c.reasons],
      reason_codes: c.reasons.map(reasonCode),
    })),
    steps: doc.steps.map((s) => ({
      id: s.id,
      kind: s.kind,
      instance: s.instance,
      depends_on: [...s.dependsOn],
      reasons: [...s.reasons],
      reason_codes: s.reasons.map(reasonCode),
    })),
    quota_peak: {
      cpus: doc.quotaPeak.cpus,
      memory_mb: doc.quotaPeak.memory_mb,
      instances: doc.quotaPeak.instances,
    },
    warnings: [...doc.warnings],
  };
}

export function planJson(doc: PlanDocument): string {
  return `${JSON.stringify(planJsonView(doc), null, 2)}\n`;
}
