// DESIGN §9 for a deployment on EC2 (moto) with the region's quota ledger. The region's event log
// knows only the ledger's side here, so what the log proves for the region is read from EC2 itself:
// every instance ever made for the deployment (terminated ones included, moto keeps them) is counted
// per claim and operation, and the ledger is held against the live instances.
import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { Cloud } from '../../src/cloud/port';
import { TAG, type Observed, type Tags } from '../../src/domain/cloud';
import type { CloudConfig } from '../../src/domain/cloud-config';
import type { InstanceRecord } from '../../src/domain/instance';
import type { Manifest } from '../../src/domain/manifest';
import { embodiment, patent, placementsFor, reconcile } from '../../src/planner';

export interface Ec2InvariantInput {
  cloud: Cloud;
  client: EC2Client;
  deployment: string;
  records: readonly InstanceRecord[];
  desired?: { manifest: Manifest; cloudConfig: CloudConfig };
}

export interface Ec2InvariantReport {
  violations: string[];
  observed: Observed;
  /** Instances EC2 ever ran for the deployment, terminated ones included. */
  everMade: number;
}

export async function checkEc2Invariants(input: Ec2InvariantInput): Promise<Ec2InvariantReport> {
  const { cloud, deployment, records } = input;
  const tag = { [TAG.deployment]: deployment };
  const [servers, allocations, volumes] = await Promise.all([
    cloud.listServers(tag),
    cloud.listAllocations(tag),
    cloud.listVolumes(tag),
  ]);
  const observed: Observed = { servers, allocations, volumes };
  const violations: string[] = [];
  const instances = new Set(records.map((r) => r.id));
  const live = servers.filter((s) => s.state !== 'DELETING');

  // 2. No leak: allocations held by live servers, servers and volumes owned by instances.
  const held = new Set(live.map((s) => s.tags[TAG.allocation]));
  for (const a of allocations) if (!held.has(a.id)) violations.push(`leaked allocation ${a.id} (${a.key})`);
  for (const s of live) {
    const owner = s.tags[TAG.instance];
    if (owner === undefined || !instances.has(owner))
      violations.push(`orphan server ${s.id} (${s.tags[TAG.claim] ?? '?'})`);
  }
  const volumesOf = new Map<string, number>();
  for (const v of volumes) {
    const owner = v.tags[TAG.instance] ?? '';
    volumesOf.set(owner, (volumesOf.get(owner) ?? 0) + 1);
    if (!instances.has(owner)) violations.push(`leaked volume ${v.id} (${owner || 'no instance'})`);
  }
  for (const [owner, n] of volumesOf) if (n > 1) violations.push(`instance ${owner} has ${n} volumes`);

  // 3. No duplicate: one live VM per instance at rest; never two instances for one claim in one operation.
  const perInstance = new Map<string, number>();
  for (const s of live) {
    const owner = s.tags[TAG.instance];
    if (owner !== undefined) perInstance.set(owner, (perInstance.get(owner) ?? 0) + 1);
  }
  for (const [owner, n] of perInstance) if (n > 1) violations.push(`instance ${owner} has ${n} live servers`);
  const ever = await everMade(input.client, deployment);
  const perClaim = new Map<string, string[]>();
  for (const i of ever) {
    const key = `${i.tags[TAG.claim] ?? '?'}@${i.tags[TAG.operation] ?? '?'}`;
    perClaim.set(key, [...(perClaim.get(key) ?? []), i.id]);
  }
  for (const [key, ids] of perClaim)
    if (ids.length > 1) violations.push(`${ids.length} instances for ${key}: ${ids.join(', ')}`);

  // 4. Two-stage, at rest: no server (live or shutting down) consumes an allocation the ledger released.
  const kept = new Set(allocations.map((a) => a.id));
  for (const s of servers) {
    const a = s.tags[TAG.allocation];
    if (a !== undefined && !kept.has(a))
      violations.push(`server ${s.id} (${s.state}) consumes released allocation ${a}`);
  }

  // 1. Converged.
  if (input.desired) {
    const p = patent(
      input.desired.manifest,
      input.desired.cloudConfig,
      placementsFor(input.desired.manifest, [...records]),
      {
        defaultStrategy: 'delete_create',
      },
    );
    const o = reconcile(p, embodiment(deployment, observed, [...records]), {
      defaultStrategy: 'delete_create',
      operationSeq: 1_000_000,
      operationId: 'invariant-check',
    });
    if (o.steps.length > 0)
      violations.push(
        `not converged: ${o.steps
          .map((s) => s.id)
          .slice(0, 5)
          .join(', ')}`,
      );
  }
  return { violations, observed, everMade: ever.length };
}

/** Every instance EC2 ran for the deployment, in any state. */
export async function everMade(
  client: EC2Client,
  deployment: string,
): Promise<{ id: string; state: string; tags: Tags }[]> {
  const out: { id: string; state: string; tags: Tags }[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: `tag:${TAG.deployment}`, Values: [deployment] }],
        MaxResults: 1000,
        ...(NextToken ? { NextToken } : {}),
      }),
    );
    for (const r of page.Reservations ?? [])
      for (const i of r.Instances ?? []) {
        const tags: Tags = {};
        for (const t of i.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
        out.push({ id: i.InstanceId ?? '', state: i.State?.Name ?? '', tags });
      }
    NextToken = page.NextToken || undefined;
  } while (NextToken);
  return out;
}
