// The `--observed` snapshot: what a cloud held plus the deployment's instance records, as one JSON
// document, so `converge plan` can run offline against a recorded or hand-written state.
import { z } from 'zod';
import type { Observed } from '../domain/cloud';
import type { InstanceRecord } from '../domain/instance';

const tags = z.record(z.string(), z.string()).default({});

const serverSchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().default(''),
  state: z.enum(['BUILD', 'ACTIVE', 'ERROR', 'DELETING', 'SHUTOFF']),
  power: z.enum(['running', 'stopped']).default('running'),
  health: z.enum(['healthy', 'unhealthy', 'unknown']).default('unknown'),
  addresses: z
    .array(z.strictObject({ network: z.string(), ip: z.string(), mac: z.string().default('') }))
    .default([]),
  az: z.string(),
  image: z.strictObject({ os: z.string(), version: z.string() }),
  cpus: z.number().int().min(0),
  memory_mb: z.number().int().min(0),
  disk_gb: z.number().int().min(0),
  tags,
  created_at: z.string().default(''),
});

const allocationSchema = z.strictObject({
  id: z.string().min(1),
  pool: z.string().default(''),
  key: z.string().default(''),
  cpus: z.number().min(0),
  memory_mb: z.number().min(0),
  instances: z.number().min(0),
  tags,
});

const volumeSchema = z.strictObject({
  id: z.string().min(1),
  pool: z.string().default(''),
  size_gb: z.number().min(0),
  tags,
  server_id: z.string().nullable().default(null),
});

const instanceSchema = z.strictObject({
  id: z.string().min(1),
  group: z.string().min(1),
  index: z.number().int().min(0),
  az: z.string().min(1),
  bootstrap: z.boolean().default(false),
  state: z.enum(['started', 'stopped', 'detached']).default('started'),
});

export const snapshotSchema = z.strictObject({
  servers: z.array(serverSchema).default([]),
  allocations: z.array(allocationSchema).default([]),
  volumes: z.array(volumeSchema).default([]),
  instances: z.array(instanceSchema).default([]),
});

export interface Snapshot extends Observed {
  instances: InstanceRecord[];
}
