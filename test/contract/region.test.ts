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
    staticIps: ['10.0.0.29', '10.0.0.30'],
    // Far above what the other cases' dynamic VMs take (from 10.0.0.2 up).
    smallSubnet: { range: '10.0.200.0/29', reserved: ['10.0.200.1'], static: ['10.0.200.6'] },
    absentServerId: `srv-${randomUUID()}`,
  });
});
