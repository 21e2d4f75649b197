// `npm run bench:region`: the real region process, driven through RegionClient with zero injected latency.
//  1. create N servers (concurrency C), 2. observe a deployment of N servers (servers + allocations +
//  volumes by deployment tag, as the observe activity does), 3. delete the N servers and wait until gone.
// Usage: npm run bench:region -- [--servers 1000] [--concurrency 16] [--observes 200] [--noise 0]
import { parseArgs } from 'node:util';
import type { RegionClient } from '../src/cloud/region-client';
import { TAG } from '../src/domain/cloud';
import { startRegion } from '../test/support/region';

const { values } = parseArgs({
  options: {
    servers: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '16' },
    observes: { type: 'string', default: '200' },
    /** Servers of another deployment present during observe (shows the tag index at work). */
    noise: { type: 'string', default: '0' },
  },
});
const N = Number(values.servers);
const C = Number(values.concurrency);
const OBSERVES = Number(values.observes);
const NOISE = Number(values.noise);

async function pool(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
  return performance.now() - start;
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

function server(client: RegionClient, deployment: string, i: number) {
  return client.createServer({
    name: `bench-${i}`,
    cpus: 1,
    memory_mb: 512,
    disk_gb: 5,
    image: { os: 'ubuntu-jammy', version: '1.182' },
    az: ['z1', 'z2', 'z3'][i % 3] ?? 'z1',
    network: 'default',
    tags: {
      [TAG.deployment]: deployment,
      [TAG.group]: 'web',
      [TAG.index]: String(i),
      [TAG.claim]: `web/${i}`,
    },
    idempotency_key: `${deployment}/web/${i}/create`,
  });
}

const region = await startRegion({ faults: { build_ms: 0, delete_ms: 0, latency_ms: 0 } });
const client = region.client;
const rows: [string, string][] = [];
try {
  const deployment = 'bench';
  const createdIds: string[] = [];
  const createMs = await pool(N, C, async (i) => createdIds.push((await server(client, deployment, i)).id));
  rows.push([
    `create ${N} servers (c=${C})`,
    `${((N / createMs) * 1000).toFixed(0)} ops/s (${createMs.toFixed(0)} ms)`,
  ]);

  // What observe also reads: one allocation per server and a volume for a tenth of them.
  const allocMs = await pool(N, C, (i) =>
    client.createAllocation({
      pool: 'bench',
      key: `${deployment}/web/${i}/alloc`,
      cpus: 1,
      memory_mb: 512,
      instances: 1,
      tags: { [TAG.deployment]: deployment },
    }),
  );
  rows.push([
    `create ${N} allocations in one pool (c=${C})`,
    `${((N / allocMs) * 1000).toFixed(0)} ops/s (${allocMs.toFixed(0)} ms)`,
  ]);
  await pool(Math.ceil(N / 10), C, () =>
    client.createVolume({ pool: 'nfs-1', size_gb: 1, tags: { [TAG.deployment]: deployment } }),
  );
  if (NOISE > 0) await pool(NOISE, C, (i) => server(client, 'noise', i));

  const observe = async (): Promise<number> => {
    const t = performance.now();
    const tags = { [TAG.deployment]: deployment };
    const [servers] = await Promise.all([
      client.listServers(tags),
      client.listAllocations(tags),
      client.listVolumes(tags),
    ]);
    if (servers.length !== N) throw new Error(`observe saw ${servers.length} servers, expected ${N}`);
    return performance.now() - t;
  };
  for (let i = 0; i < 5; i++) await observe(); // warm-up
  const timings: number[] = [];
  for (let i = 0; i < OBSERVES; i++) timings.push(await observe());
  timings.sort((a, b) => a - b);
  rows.push([
    `observe ${N} servers${NOISE > 0 ? ` (+${NOISE} other)` : ''}`,
    `p50 ${percentile(timings, 50).toFixed(1)} ms, p99 ${percentile(timings, 99).toFixed(1)} ms (${OBSERVES} runs)`,
  ]);

  // One instance's rows by {deployment, one more tag}, as associate lists an instance's volumes: the
  // region drives the scan by the rarer tag, so this should not grow with the deployment.
  const one = async (i: number): Promise<number> => {
    const t = performance.now();
    const found = await client.listServers({ [TAG.deployment]: deployment, [TAG.claim]: `web/${i % N}` });
    if (found.length !== 1) throw new Error(`found ${found.length} servers for web/${i % N}, expected 1`);
    return performance.now() - t;
  };
  const finds: number[] = [];
  for (let i = 0; i < OBSERVES * 5; i++) finds.push(await one(i));
  finds.sort((a, b) => a - b);
  rows.push([
    `find 1 of ${N} by {deployment, claim}`,
    `p50 ${percentile(finds, 50).toFixed(2)} ms, p99 ${percentile(finds, 99).toFixed(2)} ms (${finds.length} runs)`,
  ]);

  const deleteMs = await pool(createdIds.length, C, (i) => client.deleteServer(createdIds[i] ?? ''));
  rows.push([
    `delete ${N} servers (c=${C})`,
    `${((N / deleteMs) * 1000).toFixed(0)} ops/s (${deleteMs.toFixed(0)} ms)`,
  ]);
  const goneStart = performance.now();
  while ((await client.listServers({ [TAG.deployment]: deployment })).length > 0)
    await new Promise((r) => setTimeout(r, 5));
  rows.push(['until all gone after last delete', `${(performance.now() - goneStart).toFixed(0)} ms`]);
} finally {
  await region.stop();
}

const width = Math.max(...rows.map(([k]) => k.length));
console.log(`\nregion bench (node ${process.version}, zero latency, build_ms=0, delete_ms=0)`);
for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
