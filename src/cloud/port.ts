// The cloud ports: compute (servers, volumes, images, power), the quota ledger, and the region's
// admin calls that only tests and scripts use.
import type {
  AddressHolder,
  Allocation,
  CloudTopology,
  Image,
  PoolStatus,
  QuotaAmount,
  Server,
  Tags,
  VmSpec,
  Volume,
} from '../domain/cloud';

/** A VmSpec as the wire takes it: absent rather than null, plus the key that makes a retry safe. */
export interface CreateServerRequest extends Omit<VmSpec, 'static_ip' | 'user_data'> {
  static_ip?: string;
  user_data?: string;
  idempotency_key: string;
}

export interface CreateAllocationRequest extends QuotaAmount {
  pool: string;
  key: string;
  tags: Tags;
}

export interface StoragePool {
  name: string;
  type: string;
  can_create: boolean;
  capacity_gb: number;
  used_gb: number;
}

export interface CreateVolumeRequest {
  pool: string;
  size_gb: number;
  tags: Tags;
  /** Same key ⇒ the same volume, never a second one (Gone once that volume was deleted). */
  idempotency_key?: string;
  /** The server it is for: a cloud whose volumes live in one AZ (EBS) creates it in that server's AZ. */
  near_server?: string;
}

export type ServerAction = 'start' | 'stop' | 'reboot';

export interface Faults {
  latency_ms: number;
  build_ms: number;
  delete_ms: number;
  error_rate: number;
  error_build_rate: number;
  stuck_build_rate: number;
}

export interface RegionEvent {
  seq: number;
  type: string;
  at: string;
  subject: string;
  /** The subject's tags at the time of the event. */
  tags: Tags;
  data: Record<string, unknown>;
}

/** Ids one `lookupServers` call may ask for (AWS's DescribeInstances takes 1,000 as well). */
export const SERVER_LOOKUP_MAX = 1000;

/**
 * The compute port: what the activities need from a cloud that runs servers. Nothing test-only.
 * Idempotency is part of the contract: `createServer` and `createVolume` with a key already used
 * answer the same object (or `Gone` once it was deleted), never a second one.
 */
export interface ComputePort {
  /** Same `idempotency_key` ⇒ the same server, also across a lost answer or a crashed caller. */
  createServer(req: CreateServerRequest): Promise<Server>;
  /** NotFound when the server does not exist (any more). */
  getServer(id: string): Promise<Server>;
  /** The servers among `ids` (at most SERVER_LOOKUP_MAX) that exist; an id not answered is gone. */
  lookupServers(ids: readonly string[]): Promise<Server[]>;
  /** Servers carrying every given tag (AND), complete across pages. */
  listServers(tags: Tags): Promise<Server[]>;
  /** Merges the given tags into the server's tags. */
  setServerTags(id: string, tags: Tags): Promise<Server>;
  /**
   * Requests deletion: 'gone' when the cloud says the server no longer exists (done, or done already),
   * 'deleting' while it is being deleted.
   */
  deleteServer(id: string): Promise<'gone' | 'deleting'>;
  serverAction(id: string, action: ServerAction): Promise<Server>;
  listStoragePools(): Promise<StoragePool[]>;
  createVolume(req: CreateVolumeRequest): Promise<Volume>;
  listVolumes(tags: Tags): Promise<Volume[]>;
  /** One volume by id (NotFound when it does not exist): detach-disk checks where it is attached. */
  getVolume(id: string): Promise<Volume>;
  attachVolume(id: string, serverId: string): Promise<Volume>;
  detachVolume(id: string): Promise<Volume>;
  /** Gone already counts as done. */
  deleteVolume(id: string): Promise<void>;
  /** The stemcells this cloud lists (EC2: the AMIs tagged with a stemcell's os and version). */
  listImages(): Promise<Image[]>;
  /**
   * Can this cloud boot `image` (found as `createServer` would find it: EC2 also by the AMI name
   * pattern, which `listImages` does not list)? Absent: `listImages` is the whole answer.
   */
  hasImage?(image: Image): Promise<boolean>;
  /**
   * The AZs and named networks a cloud config is checked against before any step. Absent on a cloud
   * whose networks are the cloud config's own (EC2: manual networks, checked by the CLI's preflight).
   */
  describeTopology?(): Promise<CloudTopology>;
  /**
   * Who holds each of `ips` now, whatever its tags (an address nobody holds is left out), complete
   * however many there are. Absent on a cloud that cannot say; the create then meets the holder.
   */
  addressHolders?(ips: readonly string[]): Promise<AddressHolder[]>;
}

/** Addresses one `addressHolders` call to the region may ask for. */
export const ADDRESS_LOOKUP_MAX = 1000;

/**
 * The quota ledger: allocations per resource pool, released in two stages. Served by the region's quota
 * service whatever the compute backend is (Unikorn keeps quota in its identity service).
 */
export interface QuotaLedger {
  /** Same `key` ⇒ the same allocation. */
  createAllocation(req: CreateAllocationRequest): Promise<Allocation>;
  listAllocations(tags: Tags): Promise<Allocation[]>;
  /** Releases an allocation; NotFound counts as done; Conflict while a server tagged with it exists. */
  deleteAllocation(id: string): Promise<void>;
  getPool(name: string): Promise<PoolStatus>;
}

/** The embedded region's admin calls: for tests and scripts only, never for activities. */
export interface RegionAdmin {
  health(): Promise<boolean>;
  createImage(image: Image): Promise<Image>;
  /** Withdraws an image (NotFound when it was not there); servers booted from it keep running. */
  deleteImage(image: Image): Promise<void>;
  setFaults(faults: Partial<Faults>): Promise<Faults>;
  events(since?: number): Promise<RegionEvent[]>;
}

/** What the activities are built from: a compute backend and the quota ledger. */
export type Cloud = ComputePort & QuotaLedger;

/** @deprecated The region client's whole surface, as before the split: use Cloud or the single ports. */
export type CloudPort = ComputePort & QuotaLedger & RegionAdmin;
