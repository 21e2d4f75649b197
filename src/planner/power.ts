// Power as steps of the obligation: the power step, if any, one instance needs for the power its
// operation asks for (a soft stop, a start, an instance action), with its reason. Pure: it reads the
// instance's planned record, its VM and whether the plan replaces that VM, nothing else.
//
// Worked examples (`state` is the record as planned: stop and start change it before planning):
//   intent                  | state    | VM (power)           | step      | reason
//   stop                    | stopped  | kept (running)       | power-off | stop: VM running while the instance is stopped
//   stop                    | stopped  | kept (stopped)       | none      | already off
//   stop                    | started  | kept (running)       | none      | not selected: its record stayed started
//   stop                    | stopped  | none                 | none      | nothing to power off
//   start                   | started  | kept (stopped)       | power-on  | start: VM powered off while the instance is started
//   start                   | started  | replaced             | none      | the new VM boots running
//   start                   | started  | kept (running)       | none      | already on
//   action reboot api/0     | started  | kept (running)       | reboot    | reboot: requested by instance-action api/0
//   action stop api/<uuid>  | started  | kept (stopped)       | power-off | asked for: the activity finds it done (idempotent)
//   action start api/0      | started  | replaced             | power-on  | asked for: it acts on the new VM, after its associate
//   action start api/0      | detached | none                 | none      | no VM: the operation refuses (InvalidState)
//   action start api/1      | any      | any                  | none      | another instance
// An instance action's start and stop also set the record's state (started, stopped); reboot keeps it.
import type { Server } from '../domain/cloud';
import type { InstanceState } from '../domain/instance';
import type { PowerIntent, PowerKind } from './types';

export const POWER_REASON = {
  stop: 'stop: VM running while the instance is stopped',
  start: 'start: VM powered off while the instance is started',
  action: (action: string, instance: string): string => `${action}: requested by instance-action ${instance}`,
} as const;

const KIND_OF: Record<'start' | 'stop' | 'reboot', PowerKind> = {
  start: 'power-on',
  stop: 'power-off',
  reboot: 'reboot',
};

/** What the instance-action activity is asked to do for a power step. */
export const ACTION_OF: Record<PowerKind, 'start' | 'stop' | 'reboot'> = {
  'power-on': 'start',
  'power-off': 'stop',
  reboot: 'reboot',
};

export interface PowerNeed {
  kind: PowerKind;
  reason: string;
  /** The state the instance's record takes once the step is done; null: unchanged. */
  state: InstanceState | null;
}

export interface PoweredInstance {
  /** The record's state as planned. */
  state: InstanceState;
  /** Names an instance action may use for it: `<group>/<uuid>`, `<group>/<index>`. */
  names: readonly string[];
  /** The VM the instance keeps, or null when it has none. */
  vm: Pick<Server, 'power'> | null;
  /** The plan gives it a new VM (a replacement, a missing VM). */
  newVm: boolean;
}

export function powerFor(intent: PowerIntent | undefined, i: PoweredInstance): PowerNeed | null {
  if (intent === undefined) return null;
  switch (intent.kind) {
    case 'stop':
      return i.state === 'stopped' && !i.newVm && i.vm?.power === 'running'
        ? { kind: 'power-off', reason: POWER_REASON.stop, state: null }
        : null;
    case 'start':
      return i.state === 'started' && !i.newVm && i.vm?.power === 'stopped'
        ? { kind: 'power-on', reason: POWER_REASON.start, state: null }
        : null;
    case 'action': {
      if (!i.names.includes(intent.instance) || (i.vm === null && !i.newVm)) return null;
      const state = intent.action === 'start' ? 'started' : intent.action === 'stop' ? 'stopped' : null;
      return {
        kind: KIND_OF[intent.action],
        reason: POWER_REASON.action(intent.action, intent.instance),
        state,
      };
    }
  }
}
