// The cloud port: everything the activities need from a cloud, one method per region call.
import type { Allocation, Image, PoolStatus, QuotaAmount, Server, Tags, Volume } from '../domain/cloud';

export interface CreateServerRequest {
  name: string;
  cpus: number;
  memory_mb: number;
  disk_gb: number;
  image: Image;
  az: string;
  network: string;
  static_ip?: string;
  tags: Tags;
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
  /** Same key ⇒ the same volume, never a second one (410 once that volume was deleted). */
  idempotency_key?: string;
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

export interface CloudPort {
  health(): Promise<boolean>;
  createServer(req: CreateServerRequest): Promise<Server>;
  getServer(id: string): Promise<Server>;
  /** The servers among `ids` (at most SERVER_LOOKUP_MAX) that exist; an id not answered is gone. */
  lookupServers(ids: readonly string[]): Promise<Server[]>;
  /** Servers carrying every given tag (AND). */
  listServers(tags: Tags): Promise<Server[]>;
  /** Merges the given tags into the server's tags. */
  setServerTags(id: string, tags: Tags): Promise<Server>;
  /**
   * Requests deletion: 'gone' when the cloud says the server no longer exists (it answered 204, or 404:
   * done already), 'deleting' while it is being deleted (202).
   */
  deleteServer(id: string): Promise<'gone' | 'deleting'>;
  serverAction(id: string, action: ServerAction): Promise<Server>;
  createAllocation(req: CreateAllocationRequest): Promise<Allocation>;
  listAllocations(tags: Tags): Promise<Allocation[]>;
  /** Releases an allocation; a 404 counts as done; Conflict while a server tagged with it exists. */
  deleteAllocation(id: string): Promise<void>;
  getPool(name: string): Promise<PoolStatus>;
  listStoragePools(): Promise<StoragePool[]>;
  createVolume(req: CreateVolumeRequest): Promise<Volume>;
  listVolumes(tags: Tags): Promise<Volume[]>;
  /** One volume by id (NotFound when it does not exist): detach-disk checks where it is attached. */
  getVolume(id: string): Promise<Volume>;
  attachVolume(id: string, serverId: string): Promise<Volume>;
  detachVolume(id: string): Promise<Volume>;
  /** A 404 counts as done. */
  deleteVolume(id: string): Promise<void>;
  listImages(): Promise<Image[]>;
  createImage(image: Image): Promise<Image>;
  setFaults(faults: Partial<Faults>): Promise<Faults>;
  events(since?: number): Promise<RegionEvent[]>;
}
