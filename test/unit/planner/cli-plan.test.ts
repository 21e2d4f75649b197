// `converge plan` as a user runs it: a real process, real files, exit codes and output.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { recordOf, baseCloud, baseManifest, deployed, group } from './baseline';

const dir = mkdtempSync(join(tmpdir(), 'converge-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function converge(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/converge.mjs', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cloud = file('cloud.yml', stringify(baseCloud()));
const world = deployed();
const snapshot = file('snapshot.json', JSON.stringify({ ...world.observed, instances: world.records }));
const next = baseManifest();
group(next, 'api').stemcell = 'next';
group(next, 'worker').instances = 1;
const manifest = file('manifest.yml', stringify(next));

describe('converge plan', () => {
  it('prints every instance with its action, reasons and a destructive mark, then totals and the quota peak', () => {
    const r = converge('plan', manifest, '-c', cloud, '--observed', snapshot);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(
      `Plan for web (resource pool dev), offline against the snapshot ${snapshot}`,
    );
    const api0 = recordOf(world, 'api/0').id;
    const gone = recordOf(world, 'worker/1').id;
    expect(r.stdout).toContain(
      `  ~ replace (hot_swap)      api/0  api/${api0}\n      @ z1, small, 10.200.0.3 (current)\n      stemcell 1.181 → 1.182\n      ! destructive: local disk lost, IP may change\n`,
    );
    expect(r.stdout).toContain(
      `  - delete                  (no claim)  worker/${gone}\n      @ z2, 10.200.0.12 (current)\n      scale down: worker has 1 instance, index 1 goes\n      ! destructive: VM and disks deleted, IP released\n`,
    );
    expect(r.stdout).toContain(`worker (hot_swap, canaries 1, max_in_flight 2, serial)\n  - delete`);
    expect(r.stdout).toContain('db (hot_swap, canaries 1, max_in_flight 2, serial)\n  = 1 unchanged\n');
    expect(r.stdout).toContain('Totals: 0 create, 3 replace, 1 delete, 2 keep; 16 steps, 4 destructive\n');
    expect(r.stdout).toContain('Quota peak: 24 cpus, 24576 memory_mb, 9 instances\n');
  });

  it('--json is byte-identical across runs and has the documented keys, all snake_case', () => {
    const a = converge('plan', manifest, '-c', cloud, '--observed', snapshot, '--json');
    const b = converge('plan', manifest, '-c', cloud, '--observed', snapshot, '--json');
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const view = JSON.parse(a.stdout) as Record<string, unknown>;
    expect(Object.keys(view)).toEqual([
      'deployment',
      'resource_pool',
      'source',
      'snapshot',
      'converged',
      'summary',
      'groups',
      'instances',
      'cleanup',
      'steps',
      'quota_peak',
      'warnings',
    ]);
    expect(view.summary).toEqual({ create: 0, replace: 3, delete: 1, keep: 2 });
    const keys = new Set<string>();
    JSON.parse(a.stdout, (k: string, v: unknown) => (keys.add(k), v));
    expect([...keys].filter((k) => /[A-Z]/.test(k))).toEqual([]);
    const api0 = (view.instances as { claim: string }[]).find((i) => i.claim === 'api/0');
    expect(api0).toMatchObject({
      group: 'api',
      action: 'replace',
      az: 'z1',
      vm_type: 'small',
      ips: [{ address: '10.200.0.3', kind: 'current' }],
    });
  });

  it('--json carries a machine code beside every reason text', () => {
    const r = converge('plan', manifest, '-c', cloud, '--observed', snapshot, '--json');
    expect(r.code).toBe(0);
    const view = JSON.parse(r.stdout) as {
      instances: { claim: string; reasons: string[]; reason_codes: string[] }[];
      steps: { reasons: string[]; reason_codes: string[] }[];
    };
    const api0 = view.instances.find((i) => i.claim === 'api/0');
    expect(api0?.reasons).toEqual(['stemcell 1.181 → 1.182']);
    expect(api0?.reason_codes).toEqual(['stemcell_changed']);
    const removed = view.instances.find((i) => i.reason_codes.includes('scale_down'));
    expect(removed?.reasons[0]).toMatch(/^scale down: worker has 1 instance/);
    for (const s of view.steps) expect(s.reason_codes).toHaveLength(s.reasons.length);
  });

  it('says converged when there is nothing to do', () => {
    const r = converge(
      'plan',
      file('base.yml', stringify(baseManifest())),
      '-c',
      cloud,
      '--observed',
      snapshot,
    );
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual([
      `web (resource pool dev), offline against the snapshot ${snapshot}`,
      'converged: 6 instances up to date, nothing to do.',
    ]);
  });

  it('exits 2 naming the field and line of a bad snapshot (as a manifest), without a stack trace', () => {
    const bad = file(
      'bad.json',
      JSON.stringify({ servers: [], instances: [{ id: 'x', group: 'api', index: -1, az: 'z1' }] }),
    );
    const r = converge('plan', manifest, '-c', cloud, '--observed', bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:1:60 instances[0].index: expected a number >= 0, found -1`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 naming the field and line of a bad manifest', () => {
    const broken = baseManifest();
    group(broken, 'api').vm_type = 'smal';
    const path = file('broken.yml', stringify(broken));
    const r = converge('plan', path, '-c', cloud);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${path}:\\d+:\\d+ instance_groups\\[0\\]\\.vm_type`));
    expect(r.stdout).toBe('');
  });
});
