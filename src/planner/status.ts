// The status projection (Unikorn's): one row per instance with what a user asks first: which VM,
// in what state, at which addresses, powered how, healthy or not. No server ⇒ nulls, never guesses.
import type { Health, PowerState, ServerState } from '../domain/cloud';
import { instanceName, type InstanceState } from '../domain/instance';
import type { Embodiment } from './types';

export interface StatusRow {
  instance: string;
  group: string;
  index: number;
  az: string;
  state: InstanceState;
  vm: string | null;
  vm_state: ServerState | null;
  ips: string[];
  macs: string[];
  power: PowerState | null;
  health: Health | null;
}

export function projectStatus(embodiment: Embodiment): StatusRow[] {
  return embodiment.instances.map(({ record, server }) => ({
    instance: instanceName(record),
    group: record.group,
    index: record.index,
    az: record.az,
    state: record.state,
    vm: server?.id ?? null,
    vm_state: server?.state ?? null,
    ips: server?.addresses.map((a) => a.ip) ?? [],
    macs: server?.addresses.map((a) => a.mac) ?? [],
    power: server?.power ?? null,
    health: server?.health ?? null,
  }));
}
