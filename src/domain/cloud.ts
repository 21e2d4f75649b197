// What the cloud (the region) holds, as the planner sees it. Plain data: no I/O here.

/** Reserved tags: how Converge finds its own servers, allocations and volumes again (Unikorn's rule). */
export const TAG = {
  deployment: 'converge.deployment',
  group: 'converge.group',
  index: 'converge.index',
  claim: 'converge.claim',
  fingerprint: 'converge.fingerprint',
  /** Set by associate-vm-to-instance; absent on a server not (yet) associated. */
  instance: 'converge.instance',
  /** The quota allocation a server consumes; the region refuses to release it while the server exists. */
  allocation: 'converge.allocation',
  /** The operation that created the server or allocation. */
  operation: 'converge.operation',
} as const;

export type Tags = Record<string, string>;

export type ServerState = 'BUILD' | 'ACTIVE' | 'ERROR' | 'DELETING' | 'SHUTOFF';
export type PowerState = 'running' | 'stopped';
export type Health = 'healthy' | 'unhealthy' | 'unknown';

export interface Address {
  network: string;
  ip: string;
  mac: string;
}

export interface Image {
  os: string;
  version: string;
}

export interface Server {
  id: string;
  name: string;
  state: ServerState;
  power: PowerState;
  health: Health;
  addresses: Address[];
  az: string;
  image: Image;
  cpus: number;
  memory_mb: number;
  disk_gb: number;
  tags: Tags;
  created_at: string;
  /** Why the cloud put the server in ERROR, in its own words (absent when it says nothing). */
  fault?: string;
}

export interface Allocation {
  id: string;
  pool: string;
  key: string;
  cpus: number;
  memory_mb: number;
  instances: number;
  tags: Tags;
}

export interface Volume {
  id: string;
  pool: string;
  size_gb: number;
  tags: Tags;
  /** The server it is attached to, or null when free. */
  server_id: string | null;
}

/** One observation of everything tagged for a deployment. */
/**
 * What a cloud with named networks offers that a cloud config names: its AZs and, per network, the
 * subnets it hands addresses from (static ones only from `static`). The cloud config is checked against
 * it before any step (planner/cloud-check.ts).
 */
export interface CloudTopology {
  azs: string[];
  networks: Array<{
    name: string;
    subnets: Array<{ range: string; static: string[]; azs: string[] | null }>;
  }>;
}

/**
 * Who holds an address, whatever deployment it is of: the operation's opening read asks for the static
 * IPs its new VMs need, so one held outside the deployment is refused before any step (planner/held.ts).
 */
export interface AddressHolder {
  ip: string;
  /** A server, or (EC2) a network interface attached to no instance. */
  kind: 'server' | 'interface';
  /** Its id. */
  holder: string;
  /** The server's name ('' when it has none). */
  name: string;
  /** The holder's tags (its `converge.deployment` says whose it is). */
  tags: Tags;
  /**
   * It is being deleted (a server DELETING, an EC2 instance shutting-down): the address frees without
   * anyone's help, so a create may wait for it. Absent: it is not (or the answer predates the field).
   */
  deleting?: boolean;
}

export interface Observed {
  servers: Server[];
  allocations: Allocation[];
  volumes: Volume[];
}

export interface QuotaAmount {
  cpus: number;
  memory_mb: number;
  instances: number;
}

export interface PoolStatus {
  name: string;
  limits: QuotaAmount;
  usage: QuotaAmount;
}

/** What create-vm asks the cloud for. Tags carry the reserved `converge.*` keys. */
export interface VmSpec {
  name: string;
  cpus: number;
  memory_mb: number;
  disk_gb: number;
  image: Image;
  az: string;
  network: string;
  static_ip: string | null;
  tags: Tags;
  user_data: string | null;
  /**
   * The primary network's subnet as the cloud config draws it. Every cloud gives a VM without a static
   * IP the lowest free address of `range` outside `reserved` and `static` (BOSH manual networks), or
   * refuses the create with a Conflict (`no_free_ip`). Absent (older callers): the cloud picks.
   */
  addressing?: Addressing;
  /**
   * The cloud config's cloud_properties for this VM (EC2 reads its names here); absent when all three
   * are empty (the region needs none).
   */
  cloud_properties?: ServerCloudProperties;
}

/** The cloud config's cloud_properties that apply to one server, by where they were written. */
export interface ServerCloudProperties {
  vm_type: Record<string, unknown>;
  az: Record<string, unknown>;
  subnet: Record<string, unknown>;
}

/** A subnet of the cloud config: its CIDR range and the parts no dynamic VM may get. */
export interface Addressing {
  range: string;
  reserved: string[];
  static: string[];
}
