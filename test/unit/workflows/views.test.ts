// What the Temporal UI says of an operation and of the entity: table cases.
import { describe, expect, it } from 'vitest';
import type { InstancePlan } from '../../../src/planner/types';
import { entityDetails, operationSummary } from '../../../src/workflows/views';
import type { DeploymentState, OperationRecord, PlanView } from '../../../src/workflows/types';

const replace = (instance: string, reasons: string[]): InstancePlan => ({
  instance,
  claim: instance,
  action: 'replace',
  strategy: 'delete_create',
  reasons,
  destructive: true,
});
const create = (instance: string): InstancePlan => ({
  instance,
  claim: instance,
  action: 'create',
  strategy: null,
  reasons: ['new instance'],
  destructive: false,
});

describe('operationSummary', () => {
  it('before planning: the kind and the deployment only', () => {
    expect(operationSummary('deploy', 'web', null)).toBe('deploy web');
  });

  it('counts, with the replacements’ reason codes, most frequent first, ties by name, at most three', () => {
    const instances = [
      create('api/3'),
      create('api/4'),
      create('api/5'),
      replace('api/0', ['stemcell 1.181 → 1.182', 'env changed']),
      replace('api/1', ['stemcell 1.181 → 1.182']),
    ];
    const summary = { create: 3, replace: 2, delete: 1, keep: 4 };
    expect(operationSummary('deploy', 'web', { summary, instances })).toBe(
      'deploy web: 3 create, 2 replace (stemcell, env), 1 delete',
    );
    const many = [
      replace('a/0', ['vm_type small → large']),
      replace('a/1', ['az z1 → z2']),
      replace('a/2', ['env changed']),
      replace('a/3', ['stemcell 1 → 2']),
    ];
    expect(operationSummary('deploy', 'web', { summary: { ...summary, replace: 4 }, instances: many })).toBe(
      'deploy web: 3 create, 4 replace (az, env, stemcell), 1 delete',
    );
  });

  it('counts alone when only the summary is known; "no changes" when there are none', () => {
    expect(
      operationSummary('recreate', 'web', { summary: { create: 0, replace: 1, delete: 0, keep: 2 } }),
    ).toBe('recreate web: 1 replace');
    expect(
      operationSummary('deploy', 'web', { summary: { create: 0, replace: 0, delete: 0, keep: 2 } }),
    ).toBe('deploy web: no changes');
  });

  it('with the steps, counts power steps by kind (their instances are keeps)', () => {
    const step = (kind: PlanView['steps'][number]['kind'], i: number) => ({
      id: `api/${i}:${kind}`,
      kind,
      instance: `api/${i}`,
      dependsOn: [],
      reasons: [],
    });
    const summary = { create: 0, replace: 0, delete: 0, keep: 3 };
    expect(
      operationSummary('stop', 'web', { summary, steps: [step('power-off', 0), step('power-off', 1)] }),
    ).toBe('stop web: 2 power-off');
    expect(
      operationSummary('instance-action', 'web', {
        summary: { ...summary, replace: 1 },
        steps: [step('create-vm', 2), step('reboot', 2)],
      }),
    ).toBe('instance-action web: 1 replace, 1 reboot');
    expect(operationSummary('start', 'web', { summary, steps: [] })).toBe('start web: no changes');
  });
});

describe('entityDetails', () => {
  const record = (seq: number, extra: Partial<OperationRecord>): OperationRecord => ({
    operation: `op-${seq}`,
    seq,
    kind: 'deploy',
    status: 'converged',
    summary: { create: 2, replace: 0, delete: 0, keep: 0 },
    failure: null,
    ...extra,
  });
  const state = (extra: Partial<DeploymentState>): Parameters<typeof entityDetails>[0] => ({
    name: 'web',
    recent: [],
    records: [],
    deleted: false,
    ...extra,
  });

  it('idle, the last three operations newest first with who asked, and the meltdown', () => {
    const text = entityDetails(
      state({
        recent: [
          record(4, {
            kind: 'recreate',
            by: 'resurrector',
            summary: { create: 0, replace: 1, delete: 0, keep: 1 },
          }),
          record(3, { status: 'failed', failure: { step: null, message: 'quota', type: null } }),
          record(2, {}),
          record(1, {}),
        ],
        heal: {
          trouble: {},
          resurrected: [],
          meltdown: 'meltdown: 3 of 10 unhealthy, not resurrecting',
          lastResurrection: null,
        },
      }),
      null,
    );
    expect(text.split('\n')).toEqual([
      '**deployment web**: idle, 0 instances',
      '- op-4: recreate web: 1 replace by resurrector: converged',
      '- op-3: deploy web: 2 create: failed (quota)',
      '- op-2: deploy web: 2 create: converged',
      'meltdown: 3 of 10 unhealthy, not resurrecting',
    ]);
  });

  it('says which operation runs', () => {
    const current = {
      deployment: 'web',
      operation: 'op-5',
      workflowId: 'w',
      seq: 5,
      kind: 'delete' as const,
    };
    expect(entityDetails(state({}), current)).toBe('**deployment web**: delete running (op-5), 0 instances');
  });
});
