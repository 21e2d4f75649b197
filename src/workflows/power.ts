// Power after the obligation: an instance action (start, stop, reboot one VM), a soft stop powering
// VMs off, and a start powering stopped VMs back on. They run once the obligation is done, in
// parallel, and change only power and the instance's state.
import { ApplicationFailure } from '@temporalio/workflow';
import type { Observed } from '../domain/cloud';
import type { InstanceRecord } from '../domain/instance';
import { embodiment } from '../planner';
import { actions } from './activities';
import type { OperationInput } from './types';

/** The power actions the operation's kind asks for; returns the records with the states they set. */
export async function powerAfter(
  input: OperationInput,
  records: InstanceRecord[],
  observed: Observed,
): Promise<InstanceRecord[]> {
  if (input.kind === 'instance-action' && input.action) return instanceAction(input, records, observed);
  if (input.kind === 'stop' && !input.stop?.hard) await power(input, records, observed, 'stopped', 'stop');
  if (input.kind === 'start') await power(input, records, observed, 'started', 'start');
  return records;
}

async function instanceAction(
  input: OperationInput,
  records: InstanceRecord[],
  observed: Observed,
): Promise<InstanceRecord[]> {
  const action = input.action;
  if (!action) return records;
  const e = embodiment(input.deployment, observed, records);
  const target = e.instances.find(
    (i) =>
      `${i.record.group}/${i.record.id}` === action.instance ||
      `${i.record.group}/${i.record.index}` === action.instance,
  );
  if (!target?.server) {
    throw ApplicationFailure.nonRetryable(
      `instance ${action.instance} has no VM to ${action.action}`,
      'InvalidState',
    );
  }
  await actions.instanceAction.executeWithOptions(
    { startToCloseTimeout: '2 minutes', summary: `${action.action} ${action.instance}` },
    [{ serverId: target.server.id, action: action.action }],
  );
  const state =
    action.action === 'stop' ? 'stopped' : action.action === 'start' ? 'started' : target.record.state;
  return records.map((r) => (r.id === target.record.id ? { ...r, state } : r));
}

/** Powers the VMs of instances in `state` to match it: stopped ones off, started ones on. */
async function power(
  input: OperationInput,
  records: InstanceRecord[],
  observed: Observed,
  state: 'started' | 'stopped',
  action: 'start' | 'stop',
): Promise<void> {
  const wrong = action === 'start' ? 'stopped' : 'running';
  const e = embodiment(input.deployment, observed, records);
  await Promise.all(
    e.instances
      .filter((i) => i.record.state === state && i.server && i.server.power === wrong)
      .map((i) =>
        actions.instanceAction.executeWithOptions(
          { startToCloseTimeout: '2 minutes', summary: `${action} ${i.record.group}/${i.record.id}` },
          [{ serverId: i.server?.id ?? '', action }],
        ),
      ),
  );
}
