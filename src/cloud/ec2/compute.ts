// The compute port on EC2, through the official SDK. Every call passes the token bucket, is counted,
// and fails as a typed CloudError (errors.ts). Converge's own bookkeeping rides on the instance's and
// volume's tags under `converge.ec2.*` (idempotency key, AZ name, stemcell, size, network), which the
// port's readers never see: a Server looks the same whichever cloud made it.
import { createHash } from 'node:crypto';
import {
  AttachVolumeCommand,
  DescribeAvailabilityZonesCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeImagesCommand,
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  RebootInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type Filter,
  type Instance,
  type RunInstancesCommandInput,
  type Tag,
  type Volume as Ec2Volume,
} from '@aws-sdk/client-ec2';
import {
  type AddressHolder,
  type Health,
  type Image,
  type Server,
  type Addressing,
  type ServerState,
  type Tags,
  type Volume,
} from '../../domain/cloud';
import { formatIPv4, inAnyRange, parseCidr, parseIpRange, type IpRange } from '../../domain/ip';
import { CloudError, Conflict, Gone, ImageNotFound, Invalid, NotFound, Unavailable } from '../errors';
import type {
  ComputePort,
  CreateServerRequest,
  CreateVolumeRequest,
  ServerAction,
  StoragePool,
} from '../port';
import { Batcher } from './batch';
import { fromEc2, isThrottle } from './errors';
import { InFlightCap, TokenBucket, type RateLimit } from './limiter';
import {
  azProperties,
  parseProperties,
  subnetProperties,
  vmTypeProperties,
  VOLUME_TYPES,
} from '../../domain/ec2-properties';

/** Converge's own tags on EC2 resources; stripped from what the port returns. */
export const EC2_TAG = {
  key: 'converge.ec2.key',
  az: 'converge.ec2.az',
  image: 'converge.ec2.image',
  size: 'converge.ec2.size',
  network: 'converge.ec2.network',
} as const;

/** How an AMI is found for a stemcell: these tags on the image (or the name pattern, see README). */
export const STEMCELL_TAG = { os: 'converge.stemcell.os', version: 'converge.stemcell.version' } as const;
export const stemcellImageName = (image: Image): string => `converge-stemcell-${image.os}-${image.version}`;

const LIVE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];
/** How long an answered pick is remembered: longer than any listing stays in flight. */
const PICK_MEMORY_MS = 10 * 60_000;
/** Calls in flight by default: fewer than the SDK's 50 sockets, so none waits unseen in its pool. */
const DEFAULT_IN_FLIGHT = 32;
/** Values one EC2 filter may carry. */
const FILTER_VALUES_MAX = 200;
/** The device a persistent disk is attached as (Converge gives an instance one persistent disk). */
const PERSISTENT_DEVICE = '/dev/sdf';

export interface Ec2ComputeOptions {
  client: EC2Client;
  rate: RateLimit;
  /** Volume types offered as storage pools, in preference order. */
  volumeTypes?: readonly string[];
  /** What each volume type may hold in all (EBS's per-account limit is the real one). */
  storageCapacityGb?: number;
  /** Calls waiting for answers at most (the SDK's own pool holds 50 sockets). */
  inFlight?: number;
  /** Page size for Describe* lists (EC2 takes 5–1000). */
  pageSize?: number;
  /** How long attach/detach wait for the volume to settle, and how often they look. */
  settleMs?: number;
  settlePollMs?: number;
}

/** Calls made, by EC2 action, and throttles seen: what `npm run bench` reports per instance. */
export interface Ec2Stats {
  calls: Record<string, number>;
  /** Time spent waiting on answers, by action (after the token bucket): where a slow endpoint shows. */
  answerMs: Record<string, number>;
  throttles: number;
}

export class Ec2Compute implements ComputePort {
  readonly #client: EC2Client;
  readonly #bucket: TokenBucket;
  readonly #inFlight: InFlightCap;
  readonly #volumeTypes: readonly string[];
  readonly #capacityGb: number;
  readonly #pageSize: number;
  readonly #settleMs: number;
  readonly #settlePollMs: number;
  readonly #images = new Map<string, Promise<string>>();
  /**
   * Addresses this worker's creates chose: null while RunInstances is in flight, then when it answered.
   * An answered pick stays out of picks whose listing was sent before that answer (a slow endpoint
   * may serve such a listing before the create and answer it after).
   */
  readonly #picked = new Map<string, number | null>();
  readonly stats: Ec2Stats = { calls: {}, answerMs: {}, throttles: 0 };
  /** Lookups by one tag (idempotency keys, allocations) waiting for the bucket go as one call. */
  readonly #byTag: Batcher<Instance[]>;
  readonly #volumesByKey: Batcher<Ec2Volume[]>;
  /** Address picks in one subnet waiting for the bucket share one listing of its interfaces. */
  readonly #subnetAddresses: Batcher<{ ips: string[]; sentAt: number }>;
  /**
   * Creates in flight in this worker, by idempotency key. A second create of a key whose first has
   * not been answered (a retried attempt while the first one still runs) joins it: its tag lookup
   * would find nothing yet, and moto, which ignores ClientToken, would make a second instance.
   */
  readonly #creating = new Map<string, Promise<Server>>();
  #terminations: Array<{ id: string; done: (r: 'gone' | 'deleting' | Error) => void }> = [];

  constructor(options: Ec2ComputeOptions) {
    this.#client = options.client;
    this.#bucket = new TokenBucket(options.rate);
    this.#inFlight = new InFlightCap(options.inFlight ?? DEFAULT_IN_FLIGHT);
    this.#volumeTypes = options.volumeTypes ?? VOLUME_TYPES;
    this.#capacityGb = options.storageCapacityGb ?? 1_000_000;
    this.#pageSize = options.pageSize ?? 1000;
    this.#settleMs = options.settleMs ?? 120_000;
    this.#settlePollMs = options.settlePollMs ?? 500;
    const turn = (): Promise<void> => this.#turn();
    this.#byTag = new Batcher(turn, FILTER_VALUES_MAX);
    this.#volumesByKey = new Batcher(turn, FILTER_VALUES_MAX);
    this.#subnetAddresses = new Batcher(turn, 1);
  }

  /**
   * The worker's start-up check: one signed DescribeAvailabilityZones, so missing or refused
   * credentials and an unreachable endpoint show at start, not at the first deploy. Answers the
   * region's zone names; throws the typed error (EC2's code and message only) otherwise.
   */
  async availabilityZones(timeoutMs = 10_000): Promise<string[]> {
    const out = await this.#send('DescribeAvailabilityZones', () =>
      this.#client.send(new DescribeAvailabilityZonesCommand({}), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      }),
    );
    return (out.AvailabilityZones ?? []).flatMap((z) => (z.ZoneName ? [z.ZoneName] : [])).sort();
  }

  // --- servers ----------------------------------------------------------------------------------

  createServer(req: CreateServerRequest): Promise<Server> {
    const key = req.idempotency_key;
    const inFlight = this.#creating.get(key);
    if (inFlight) return inFlight;
    const creating = this.#create(req).finally(() => this.#creating.delete(key));
    this.#creating.set(key, creating);
    return creating;
  }

  async #create(req: CreateServerRequest): Promise<Server> {
    // moto (and EC2 after an answer was lost past the token's window) may not deduplicate on
    // ClientToken: the idempotency tag is looked up first, so a retried create finds its instance.
    const made = await this.#tagged(EC2_TAG.key, req.idempotency_key, true);
    const live = made.find((i) => i.State?.Name !== 'terminated');
    if (live) return this.#withHealth(live);
    if (made.length > 0) {
      throw new Gone({
        code: 'gone',
        status: 410,
        message: `create server: key ${req.idempotency_key} made ${made[0]?.InstanceId ?? '?'}, since terminated`,
      });
    }
    const input = await this.#runInput(req);
    const picked = input.NetworkInterfaces?.[0]?.PrivateIpAddress;
    const out = await this.#send('RunInstances', () =>
      this.#client.send(new RunInstancesCommand(input)),
    ).finally(() => {
      // Once RunInstances answered, the interface holds the address (or nothing does): a listing sent
      // from now on shows which.
      if (req.static_ip === undefined && picked !== undefined) this.#picked.set(picked, performance.now());
    });
    const instance = out.Instances?.[0];
    if (!instance?.InstanceId)
      throw new Unavailable({
        code: 'bad_response',
        status: 0,
        message: 'RunInstances answered no instance',
      });
    return toServer(instance, 'unknown');
  }

  async #runInput(req: CreateServerRequest): Promise<RunInstancesCommandInput> {
    const props = req.cloud_properties ?? { vm_type: {}, az: {}, subnet: {} };
    const vmType = valid(vmTypeProperties, props.vm_type, 'cloud_properties.vm_type');
    const az = valid(azProperties, props.az, 'cloud_properties.az');
    const subnet = valid(subnetProperties, props.subnet, 'cloud_properties.subnet');
    const imageId = await this.#imageId(req.image);
    const tags: Tags = {
      ...req.tags,
      Name: req.name,
      [EC2_TAG.key]: req.idempotency_key,
      [EC2_TAG.az]: req.az,
      [EC2_TAG.image]: `${req.image.os}/${req.image.version}`,
      [EC2_TAG.size]: `${req.cpus}/${req.memory_mb}/${req.disk_gb}`,
      [EC2_TAG.network]: req.network,
    };
    const input: RunInstancesCommandInput = {
      ImageId: imageId,
      InstanceType: vmType.instance_type as RunInstancesCommandInput['InstanceType'],
      MinCount: 1,
      MaxCount: 1,
      ClientToken: token(req.idempotency_key),
      Placement: { AvailabilityZone: az.availability_zone },
      TagSpecifications: [{ ResourceType: 'instance', Tags: toTagList(tags) }],
      ...(vmType.key_name === undefined ? {} : { KeyName: vmType.key_name }),
      ...(req.user_data === undefined ? {} : { UserData: Buffer.from(req.user_data).toString('base64') }),
    };
    const groups = vmType.security_group_ids;
    const addressing = req.addressing;
    if (req.static_ip === undefined && addressing === undefined) {
      // No ranges from the cloud config: EC2 assigns the address.
      input.SubnetId = subnet.subnet_id;
      if (groups) input.SecurityGroupIds = groups;
    } else {
      // The director's address: the static IP, or a dynamic one from the cloud config's range outside
      // its reserved and static parts (EC2 left to itself could hand a dynamic VM a static IP that a
      // later VM needs).
      const ip = req.static_ip ?? (await this.#pickAddress(subnet.subnet_id, addressing));
      // A static IP as the primary interface's address, deleted with the instance: EC2 does so by
      // default; moto keeps the address taken unless told (see README, moto's gaps).
      input.NetworkInterfaces = [
        {
          DeviceIndex: 0,
          SubnetId: subnet.subnet_id,
          PrivateIpAddress: ip,
          DeleteOnTermination: true,
          ...(groups ? { Groups: groups } : {}),
        },
      ];
    }
    return input;
  }

  /**
   * The lowest address of the range that is not reserved (by the cloud config, or EC2's first four and
   * last), not static, not on an interface in the subnet, and not picked by a create still in flight.
   */
  async #pickAddress(subnetId: string, addressing: Addressing | undefined): Promise<string> {
    const range = addressing === undefined ? null : parseCidr(addressing.range);
    if (addressing === undefined || range === null) {
      throw new Invalid({
        code: 'invalid',
        status: 400,
        field: 'addressing.range',
        message: 'create server: no subnet range to take an address from',
      });
    }
    const excluded = [...addressing.reserved, ...addressing.static]
      .map((r) => parseIpRange(r))
      .filter((r): r is IpRange => r !== null);
    const listing = await this.#subnetAddresses.join(subnetId, subnetId, () =>
      this.#addressesIn(subnetId, true),
    );
    const used = new Set(listing.ips);
    const now = performance.now();
    for (const [ip, answeredAt] of this.#picked)
      if (answeredAt !== null && now - answeredAt > PICK_MEMORY_MS) this.#picked.delete(ip);
    const pickedSince = (ip: string): boolean => {
      const answeredAt = this.#picked.get(ip);
      return answeredAt === null || (answeredAt !== undefined && answeredAt >= listing.sentAt);
    };
    for (let ip = range.first + 4; ip < range.last; ip++) {
      const text = formatIPv4(ip);
      if (inAnyRange(ip, excluded) || used.has(text) || pickedSince(text)) continue;
      this.#picked.set(text, null);
      return text;
    }
    // The region's answer for a full subnet: a Conflict, retried while deletes in flight may free an
    // address, and failed for good past the step's conflict budget.
    throw new Conflict({
      code: 'no_free_ip',
      status: 409,
      field: 'network',
      message: `create server: no free address in ${addressing.range} outside its reserved and static ranges`,
    });
  }

  async #addressesIn(subnetId: string, taken: boolean): Promise<{ ips: string[]; sentAt: number }> {
    const sentAt = performance.now();
    const pages = await this.#pages(
      'DescribeNetworkInterfaces',
      (page) =>
        this.#client.send(
          new DescribeNetworkInterfacesCommand({
            Filters: [{ Name: 'subnet-id', Values: [subnetId] }],
            MaxResults: 1000,
            ...page,
          }),
        ),
      taken,
    );
    const ips: string[] = [];
    for (const out of pages)
      for (const n of out.NetworkInterfaces ?? [])
        for (const a of n.PrivateIpAddresses ?? []) if (a.PrivateIpAddress) ips.push(a.PrivateIpAddress);
    return { ips, sentAt };
  }

  /**
   * Who holds each address: the network interfaces that have it (any subnet, any owner), named by the
   * instance they are attached to (its Name and tags) or, when none, by the interface itself.
   */
  async addressHolders(ips: readonly string[]): Promise<AddressHolder[]> {
    const wanted = new Set(ips);
    const pages = await Promise.all(
      chunk([...wanted], FILTER_VALUES_MAX).map((Values) =>
        this.#pages('DescribeNetworkInterfaces', (page) =>
          this.#client.send(
            new DescribeNetworkInterfacesCommand({
              Filters: [{ Name: 'addresses.private-ip-address', Values }],
              MaxResults: 1000,
              ...page,
            }),
          ),
        ),
      ),
    );
    const interfaces = pages.flat().flatMap((out) => out.NetworkInterfaces ?? []);
    const attached = [
      ...new Set(interfaces.flatMap((n) => (n.Attachment?.InstanceId ? [n.Attachment.InstanceId] : []))),
    ];
    const instances = new Map<string, Instance>();
    for (const batch of chunk(attached, FILTER_VALUES_MAX))
      for (const i of await this.#instances([{ Name: 'instance-id', Values: batch }], false))
        if (i.InstanceId) instances.set(i.InstanceId, i);
    const holders: AddressHolder[] = [];
    for (const n of interfaces) {
      const instance = instances.get(n.Attachment?.InstanceId ?? '');
      const all = fromTagList(instance ? instance.Tags : n.TagSet);
      for (const a of n.PrivateIpAddresses ?? []) {
        const ip = a.PrivateIpAddress;
        if (ip === undefined || !wanted.has(ip)) continue;
        holders.push({
          ip,
          kind: instance ? 'server' : 'interface',
          holder: instance?.InstanceId ?? n.NetworkInterfaceId ?? '',
          name: all.Name ?? (instance ? '' : (n.Description ?? '')),
          tags: ownTags(all),
          // Terminating: the interface (and its address) goes with the instance.
          deleting: instance?.State?.Name === 'shutting-down',
        });
      }
    }
    return holders;
  }

  /** The AMI for a stemcell: tagged with its os and version, else named by the pattern; newest wins. */
  #imageId(image: Image): Promise<string> {
    const key = `${image.os}/${image.version}`;
    let found = this.#images.get(key);
    if (!found) {
      found = this.#findImage(image);
      this.#images.set(key, found);
      // A miss is not remembered: the image may be registered a moment later.
      found.catch(() => this.#images.delete(key));
    }
    return found;
  }

  async hasImage(image: Image): Promise<boolean> {
    try {
      await this.#imageId(image);
      return true;
    } catch (err) {
      if (err instanceof ImageNotFound) return false;
      throw err;
    }
  }

  async #findImage(image: Image): Promise<string> {
    const byTags: Filter[] = [
      { Name: `tag:${STEMCELL_TAG.os}`, Values: [image.os] },
      { Name: `tag:${STEMCELL_TAG.version}`, Values: [image.version] },
    ];
    for (const Filters of [byTags, [{ Name: 'name', Values: [stemcellImageName(image)] }]]) {
      const out = await this.#send('DescribeImages', () =>
        this.#client.send(new DescribeImagesCommand({ Filters })),
      );
      const newest = [...(out.Images ?? [])]
        .filter((i) => i.ImageId)
        .sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
      if (newest?.ImageId) return newest.ImageId;
    }
    throw new ImageNotFound({
      code: 'image_not_found',
      status: 404,
      message: `no AMI for stemcell ${image.os}/${image.version} (tags ${STEMCELL_TAG.os}, ${STEMCELL_TAG.version} or name ${stemcellImageName(image)})`,
    });
  }

  async getServer(id: string): Promise<Server> {
    const [found] = await this.#instances([{ Name: 'instance-id', Values: [id] }], false);
    if (!found) throw new NotFound({ code: 'not_found', status: 404, message: `server ${id} not found` });
    return this.#withHealth(found);
  }

  async lookupServers(ids: readonly string[]): Promise<Server[]> {
    // By filter, not InstanceIds: one unknown id would fail the whole call.
    const batches = chunk(ids, FILTER_VALUES_MAX).map((batch) =>
      this.#instances([{ Name: 'instance-id', Values: batch }], false),
    );
    return (await Promise.all(batches)).flat().map((i) => toServer(i, 'unknown'));
  }

  async listServers(tags: Tags): Promise<Server[]> {
    const entries = Object.entries(tags);
    const [only] = entries;
    const instances =
      entries.length === 1 && only !== undefined
        ? await this.#tagged(only[0], only[1], false)
        : await this.#instances(tagFilters(tags), false);
    const health = await this.#health(
      instances.filter((i) => i.State?.Name === 'running').map((i) => i.InstanceId ?? ''),
    );
    return instances.map((i) => toServer(i, health.get(i.InstanceId ?? '') ?? 'unknown'));
  }

  async setServerTags(id: string, tags: Tags): Promise<Server> {
    // CreateTags on an unknown id is not always refused (moto tags anything): look first.
    const [found] = await this.#instances([{ Name: 'instance-id', Values: [id] }], false);
    if (!found) throw new NotFound({ code: 'not_found', status: 404, message: `server ${id} not found` });
    await this.#send('CreateTags', () =>
      this.#client.send(new CreateTagsCommand({ Resources: [id], Tags: toTagList(tags) })),
    );
    // The instance as looked at, with the tags just written: a second read cost two calls per VM.
    const written = new Set(Object.keys(tags));
    return this.#withHealth({
      ...found,
      Tags: [...(found.Tags ?? []).filter((t) => !written.has(t.Key ?? '')), ...toTagList(tags)],
    });
  }

  deleteServer(id: string): Promise<'gone' | 'deleting'> {
    // Terminations asked for in the same tick go as one TerminateInstances of many ids.
    return new Promise((resolve, reject) => {
      this.#terminations.push({ id, done: (r) => (r instanceof Error ? reject(r) : resolve(r)) });
      if (this.#terminations.length === 1) setImmediate(() => void this.#terminate());
    });
  }

  async #terminate(): Promise<void> {
    const queued = this.#terminations;
    this.#terminations = [];
    for (const batch of chunk(queued, 1000)) {
      try {
        const states = await this.#terminateIds(batch.map((q) => q.id));
        for (const q of batch) q.done(states.get(q.id) ?? 'gone');
      } catch {
        // One unknown id fails the whole call: each id alone then, so the others are not held back.
        await Promise.all(
          batch.map(async (q) => {
            try {
              q.done((await this.#terminateIds([q.id])).get(q.id) ?? 'gone');
            } catch (err) {
              q.done(err instanceof NotFound || isMalformed(err) ? 'gone' : (err as Error));
            }
          }),
        );
      }
    }
  }

  async #terminateIds(ids: string[]): Promise<Map<string, 'gone' | 'deleting'>> {
    const out = await this.#send('TerminateInstances', () =>
      this.#client.send(new TerminateInstancesCommand({ InstanceIds: ids })),
    );
    const states = new Map<string, 'gone' | 'deleting'>();
    for (const t of out.TerminatingInstances ?? []) {
      // Terminated before this call (a repeated delete) or by it: gone. moto answers shutting-down
      // even as it terminates at once; the caller's next look sees it gone.
      const done = t.CurrentState?.Name === 'terminated' || t.PreviousState?.Name === 'terminated';
      if (t.InstanceId) states.set(t.InstanceId, done ? 'gone' : 'deleting');
    }
    return states;
  }

  async serverAction(id: string, action: ServerAction): Promise<Server> {
    const InstanceIds = [id];
    if (action === 'start')
      await this.#send('StartInstances', () => this.#client.send(new StartInstancesCommand({ InstanceIds })));
    else if (action === 'stop')
      await this.#send('StopInstances', () => this.#client.send(new StopInstancesCommand({ InstanceIds })));
    else
      await this.#send('RebootInstances', () =>
        this.#client.send(new RebootInstancesCommand({ InstanceIds })),
      );
    return this.getServer(id);
  }

  /**
   * Instances whose tag `key` is `value`, looked up together with the other values asked for while
   * this call waits for the bucket (one DescribeInstances for all of them), then picked out here.
   */
  async #tagged(key: string, value: string, withTerminated: boolean): Promise<Instance[]> {
    const all = await this.#byTag.join(`${key}\n${withTerminated}`, value, (Values) =>
      this.#instances([{ Name: `tag:${key}`, Values }], withTerminated, true),
    );
    // Exact match: EC2's filter values take * and ? as wildcards.
    return all.filter((i) => i.Tags?.some((t) => t.Key === key && t.Value === value) === true);
  }

  /**
   * Instances matching the filters, every page; terminated ones only when asked for. `taken`: the
   * first page's token is already taken (a batch's turn).
   */
  async #instances(filters: Filter[], withTerminated: boolean, taken = false): Promise<Instance[]> {
    // The state filter first: moto checks filters in order, and it is cheap where tags are not.
    const Filters = withTerminated
      ? filters
      : [{ Name: 'instance-state-name', Values: LIVE_STATES }, ...filters];
    const pages = await this.#pages(
      'DescribeInstances',
      (page) =>
        this.#client.send(new DescribeInstancesCommand({ Filters, MaxResults: this.#pageSize, ...page })),
      taken,
    );
    return pages.flatMap((out) => (out.Reservations ?? []).flatMap((r) => r.Instances ?? []));
  }

  async #withHealth(instance: Instance): Promise<Server> {
    const id = instance.InstanceId ?? '';
    const health = instance.State?.Name === 'running' ? await this.#health([id]) : new Map<string, Health>();
    return toServer(instance, health.get(id) ?? 'unknown');
  }

  /** Health from DescribeInstanceStatus: both checks ok ⇒ healthy, either impaired ⇒ unhealthy. */
  async #health(ids: readonly string[]): Promise<Map<string, Health>> {
    const health = new Map<string, Health>();
    for (const batch of chunk(ids, 100)) {
      const out = await this.#send('DescribeInstanceStatus', () =>
        this.#client.send(new DescribeInstanceStatusCommand({ InstanceIds: batch })),
      );
      for (const s of out.InstanceStatuses ?? []) {
        const checks = [s.InstanceStatus?.Status, s.SystemStatus?.Status];
        const h: Health = checks.every((c) => c === 'ok')
          ? 'healthy'
          : checks.includes('impaired')
            ? 'unhealthy'
            : 'unknown';
        if (s.InstanceId) health.set(s.InstanceId, h);
      }
    }
    return health;
  }

  // --- volumes ----------------------------------------------------------------------------------

  listStoragePools(): Promise<StoragePool[]> {
    // EBS volume types are the pools; room is EBS's (per account, per type), so used_gb is not tracked.
    return Promise.resolve(
      this.#volumeTypes.map((type) => ({
        name: type,
        type,
        can_create: true,
        capacity_gb: this.#capacityGb,
        used_gb: 0,
      })),
    );
  }

  async createVolume(req: CreateVolumeRequest): Promise<Volume> {
    const key = req.idempotency_key;
    if (key !== undefined) {
      const made = (
        await this.#volumesByKey.join(EC2_TAG.key, key, (Values) =>
          this.#volumes([{ Name: `tag:${EC2_TAG.key}`, Values }], true),
        )
      ).find((v) => v.Tags?.some((t) => t.Key === EC2_TAG.key && t.Value === key) === true);
      if (made) return toVolume(made);
    }
    if (!this.#volumeTypes.includes(req.pool)) {
      throw new Invalid({
        code: 'invalid',
        status: 400,
        field: 'pool',
        message: `create volume: no volume type ${req.pool} (offered: ${this.#volumeTypes.join(', ')})`,
      });
    }
    if (req.near_server === undefined) {
      throw new Invalid({
        code: 'invalid',
        status: 400,
        field: 'near_server',
        message: 'create volume: an EBS volume lives in one AZ; name the server it is for',
      });
    }
    const [server] = await this.#instances([{ Name: 'instance-id', Values: [req.near_server] }], false);
    const zone = server?.Placement?.AvailabilityZone;
    if (!zone)
      throw new NotFound({
        code: 'not_found',
        status: 404,
        message: `create volume: server ${req.near_server} not found`,
      });
    const tags: Tags = {
      ...req.tags,
      ...(req.idempotency_key === undefined ? {} : { [EC2_TAG.key]: req.idempotency_key }),
    };
    const out = await this.#send('CreateVolume', () =>
      this.#client.send(
        new CreateVolumeCommand({
          AvailabilityZone: zone,
          Size: req.size_gb,
          VolumeType: req.pool as (typeof VOLUME_TYPES)[number],
          TagSpecifications: [{ ResourceType: 'volume', Tags: toTagList(tags) }],
          ...(req.idempotency_key === undefined ? {} : { ClientToken: token(req.idempotency_key) }),
        }),
      ),
    );
    if (!out.VolumeId)
      throw new Unavailable({ code: 'bad_response', status: 0, message: 'CreateVolume answered no volume' });
    return { id: out.VolumeId, pool: req.pool, size_gb: req.size_gb, tags: req.tags, server_id: null };
  }

  async listVolumes(tags: Tags): Promise<Volume[]> {
    return (await this.#volumes(tagFilters(tags))).map(toVolume);
  }

  async getVolume(id: string): Promise<Volume> {
    const [found] = await this.#volumes([{ Name: 'volume-id', Values: [id] }]);
    if (!found) throw new NotFound({ code: 'not_found', status: 404, message: `volume ${id} not found` });
    return toVolume(found);
  }

  async attachVolume(id: string, serverId: string): Promise<Volume> {
    const before = await this.getVolume(id);
    if (before.server_id !== serverId) {
      await this.#send('AttachVolume', () =>
        this.#client.send(
          new AttachVolumeCommand({ VolumeId: id, InstanceId: serverId, Device: PERSISTENT_DEVICE }),
        ),
      );
    }
    return this.#settle(
      id,
      (v) =>
        v.State === 'in-use' &&
        v.Attachments?.some((a) => a.InstanceId === serverId && a.State === 'attached') === true,
    );
  }

  async detachVolume(id: string): Promise<Volume> {
    const before = await this.getVolume(id);
    const from = before.server_id;
    if (from !== null) {
      // InstanceId is optional to EC2, required by moto: naming it costs nothing.
      await this.#send('DetachVolume', () =>
        this.#client.send(new DetachVolumeCommand({ VolumeId: id, InstanceId: from })),
      );
    }
    return this.#settle(id, (v) => v.State === 'available');
  }

  async deleteVolume(id: string): Promise<void> {
    try {
      await this.#send('DeleteVolume', () => this.#client.send(new DeleteVolumeCommand({ VolumeId: id })));
    } catch (err) {
      if (err instanceof NotFound || isMalformed(err)) return;
      throw err;
    }
  }

  /** Looks until the volume shows what the call asked for (EBS attaches and detaches in the background). */
  async #settle(id: string, done: (v: Ec2Volume) => boolean): Promise<Volume> {
    const deadline = Date.now() + this.#settleMs;
    for (;;) {
      const [v] = await this.#volumes([{ Name: 'volume-id', Values: [id] }]);
      if (!v) throw new NotFound({ code: 'not_found', status: 404, message: `volume ${id} not found` });
      if (done(v)) return toVolume(v);
      if (Date.now() >= deadline) {
        throw new Unavailable({
          code: 'timeout',
          status: 0,
          message: `volume ${id} still ${v.State ?? '?'} after ${this.#settleMs} ms`,
        });
      }
      await new Promise((r) => setTimeout(r, this.#settlePollMs));
    }
  }

  async #volumes(Filters: Filter[], taken = false): Promise<Ec2Volume[]> {
    const pages = await this.#pages(
      'DescribeVolumes',
      (page) =>
        this.#client.send(
          new DescribeVolumesCommand({ Filters, MaxResults: Math.min(500, this.#pageSize), ...page }),
        ),
      taken,
    );
    return pages
      .flatMap((out) => out.Volumes ?? [])
      .filter((v) => v.State !== 'deleted' && v.State !== 'deleting');
  }

  // --- images -----------------------------------------------------------------------------------

  async listImages(): Promise<Image[]> {
    const out = await this.#send('DescribeImages', () =>
      this.#client.send(
        new DescribeImagesCommand({ Filters: [{ Name: 'tag-key', Values: [STEMCELL_TAG.os] }] }),
      ),
    );
    const images: Image[] = [];
    for (const i of out.Images ?? []) {
      const tags = fromTagList(i.Tags);
      const os = tags[STEMCELL_TAG.os];
      const version = tags[STEMCELL_TAG.version];
      if (os !== undefined && version !== undefined) images.push({ os, version });
    }
    return images;
  }

  // --- transport --------------------------------------------------------------------------------

  /**
   * Every page of a Describe* call, in order: `call` sends one page, given the token to go on from.
   * `firstTaken`: the first page's bucket token is already taken (a batch's turn).
   */
  async #pages<Out extends { NextToken?: string | undefined }>(
    action: string,
    call: (page: { NextToken?: string }) => Promise<Out>,
    firstTaken = false,
  ): Promise<Out[]> {
    const pages: Out[] = [];
    let NextToken: string | undefined;
    do {
      const taken = firstTaken && pages.length === 0;
      const out = await this.#send(action, () => call(NextToken ? { NextToken } : {}), taken);
      pages.push(out);
      NextToken = out.NextToken || undefined;
    } while (NextToken);
    return pages;
  }

  /** One call's turn: a place among the calls in flight, then a token (the rate counts sends). */
  async #turn(): Promise<void> {
    await this.#inFlight.enter();
    await this.#bucket.take();
  }

  /** `taken`: the turn was already had (a batch's); either way the call leaves its place once answered. */
  async #send<T>(action: string, call: () => Promise<T>, taken = false): Promise<T> {
    if (!taken) await this.#turn();
    this.stats.calls[action] = (this.stats.calls[action] ?? 0) + 1;
    const sentAt = performance.now();
    try {
      return await call();
    } catch (err) {
      const typed = fromEc2(err, action);
      if (isThrottle(typed.code)) this.stats.throttles += 1;
      throw typed;
    } finally {
      this.#inFlight.leave();
      this.stats.answerMs[action] = (this.stats.answerMs[action] ?? 0) + performance.now() - sentAt;
    }
  }
}

function valid<T>(schema: Parameters<typeof parseProperties<T>>[0], value: unknown, at: string): T {
  const r = parseProperties(schema, value, at);
  if (r.ok) return r.value;
  const [first] = r.problems;
  throw new Invalid({
    code: 'invalid',
    status: 400,
    field: first?.path ?? at,
    message: `create server: ${r.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
  });
}

function isMalformed(err: unknown): boolean {
  return err instanceof CloudError && err.code.endsWith('.Malformed');
}

function token(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 64);
}

const STATES: Record<string, ServerState> = {
  pending: 'BUILD',
  running: 'ACTIVE',
  stopping: 'SHUTOFF',
  stopped: 'SHUTOFF',
  'shutting-down': 'DELETING',
};

export function toServer(i: Instance, health: Health): Server {
  const all = fromTagList(i.Tags);
  const state = STATES[i.State?.Name ?? ''] ?? 'ERROR';
  const [os = '', version = ''] = (all[EC2_TAG.image] ?? '/').split('/');
  const [cpus = 0, memory_mb = 0, disk_gb = 0] = (all[EC2_TAG.size] ?? '').split('/').map(Number);
  const network = all[EC2_TAG.network] ?? '';
  const nic = i.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0) ?? i.NetworkInterfaces?.[0];
  return {
    id: i.InstanceId ?? '',
    name: all.Name ?? '',
    state,
    power: i.State?.Name === 'running' || i.State?.Name === 'pending' ? 'running' : 'stopped',
    health,
    addresses: i.PrivateIpAddress ? [{ network, ip: i.PrivateIpAddress, mac: nic?.MacAddress ?? '' }] : [],
    az: all[EC2_TAG.az] ?? i.Placement?.AvailabilityZone ?? '',
    image: { os, version },
    cpus,
    memory_mb,
    disk_gb,
    tags: ownTags(all),
    created_at: i.LaunchTime ? i.LaunchTime.toISOString() : '',
  };
}

function toVolume(v: Ec2Volume): Volume {
  const attached = v.Attachments?.find((a) => a.State === 'attached' || a.State === 'attaching');
  return {
    id: v.VolumeId ?? '',
    pool: v.VolumeType ?? '',
    size_gb: v.Size ?? 0,
    tags: ownTags(fromTagList(v.Tags)),
    server_id: attached?.InstanceId ?? null,
  };
}

/** The tags a caller set: Converge's EC2 bookkeeping and the Name tag are the adapter's own. */
function ownTags(all: Tags): Tags {
  const own: Tags = {};
  for (const [k, v] of Object.entries(all)) if (k !== 'Name' && !k.startsWith('converge.ec2.')) own[k] = v;
  return own;
}

function toTagList(tags: Tags): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function fromTagList(tags: Tag[] | undefined): Tags {
  const out: Tags = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

function tagFilters(tags: Tags): Filter[] {
  return Object.entries(tags).map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] }));
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
