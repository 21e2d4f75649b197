// The compute contract against the embedded region (RegionClient over HTTP).
import { randomUUID } from 'node:crypto';
import { describe } from 'vitest';
import { RegionClient } from '../../src/cloud/region-client';
import { regionForFile } from '../support/region';
import { computeContract } from './cases';

const region = regionForFile();

describe('compute contract: region', () => {
  computeContract({
    cloud: () => region.client,
    pagedCloud: (pageSize) => new RegionClient({ url: region.url, token: region.token, pageSize }),
    request: (tags, overrides = {}) => ({
      name: 'contract-0',
      cpus: 1,
      memory_mb: 512,
      disk_gb: 5,
      image: { os: 'ubuntu-jammy', version: '1.182' },
      az: 'z1',
      network: 'default',
      tags,
      idempotency_key: `contract/${randomUUID()}`,
      ...overrides,
    }),
    volumePool: 'lvm-1',
    quotaPool: 'dev',
    staticIps: ['10.0.0.200', '10.0.0.201'],
    absentServerId: `srv-${randomUUID()}`,
  });
});
