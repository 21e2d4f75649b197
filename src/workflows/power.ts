// The power an operation asks for, read from its kind: the planner turns it into power steps of the
// obligation (planner/power.ts), which the enactor runs like any other step.
import type { Obligation, PowerIntent } from '../planner/types';
import type { OperationInput } from './types';

/** A soft stop powers off, a start powers on, an instance action acts on one instance; else nothing. */
export function powerIntent(input: OperationInput): PowerIntent | undefined {
  if (input.kind === 'stop' && !input.stop?.hard) return { kind: 'stop' };
  if (input.kind === 'start') return { kind: 'start' };
  if (input.kind === 'instance-action' && input.action)
    return { kind: 'action', instance: input.action.instance, action: input.action.action };
  return undefined;
}

/** An instance action the plan found no VM for: why the operation refuses it (empty: none). */
export function actionWithoutVm(input: OperationInput, obligation: Obligation): string[] {
  const action = input.kind === 'instance-action' ? input.action : undefined;
  if (!action) return [];
  const powered = obligation.steps.some(
    (s) => s.kind === 'power-off' || s.kind === 'power-on' || s.kind === 'reboot',
  );
  return powered ? [] : [`instance ${action.instance} has no VM to ${action.action}`];
}
