// Instances: durable identities that VMs embody. They outlive any one VM (BOSH's instance model).

/**
 * `started`: should have a running VM. `stopped`: keeps its VM, powered off (soft stop).
 * `detached`: hard-stopped; a digression: it gets no VM, keeps its uuid and disk until `start`.
 */
export type InstanceState = 'started' | 'stopped' | 'detached';

export interface InstanceRecord {
  /** uuid; stable across VM replacements, renames and hard stops. */
  id: string;
  group: string;
  index: number;
  az: string;
  bootstrap: boolean;
  state: InstanceState;
}

/** `<group>/<uuid>`: how an instance is named to users. */
export function instanceName(r: Pick<InstanceRecord, 'group' | 'id'>): string {
  return `${r.group}/${r.id}`;
}

/** `<group>/<index>`: the id of the claim an instance embodies. */
export function claimId(group: string, index: number): string {
  return `${group}/${index}`;
}
