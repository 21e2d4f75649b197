// Every waiting activity in this worker polls its server through one coalescer: the looks asked
// for within a few milliseconds of each other go to the cloud as one lookup of many ids (like an
// informer's cache in Cluster API, or one DescribeInstances for many). A 1,000-VM hot_swap made
// ~3,000 single-server reads, in bursts, as batches of builds and waves of deletes polled together;
// those bursts queued the next wave's calls behind them in the worker and in the region.
import type { Server } from '../domain/cloud';
import { SERVER_LOOKUP_MAX, type Cloud } from '../cloud/port';

interface Waiter {
  resolve(found: Server | 'gone'): void;
  reject(err: unknown): void;
}

export class ServerLookups {
  readonly #cloud: Cloud;
  readonly #windowMs: number;
  #queued = new Map<string, Waiter[]>();
  #timer: NodeJS.Timeout | undefined;

  /** `windowMs`: how long a look waits for others to join its call (0: only those of the same tick). */
  constructor(cloud: Cloud, windowMs: number) {
    this.#cloud = cloud;
    this.#windowMs = windowMs;
  }

  /** The server as the cloud has it now, or 'gone' (404). Rejects with the lookup's error. */
  look(id: string): Promise<Server | 'gone'> {
    return new Promise((resolve, reject) => {
      const waiters = this.#queued.get(id);
      if (waiters) waiters.push({ resolve, reject });
      else this.#queued.set(id, [{ resolve, reject }]);
      if (this.#timer === undefined) this.#timer = setTimeout(() => this.#flush(), this.#windowMs);
    });
  }

  #flush(): void {
    this.#timer = undefined;
    const queued = this.#queued;
    this.#queued = new Map();
    const ids = [...queued.keys()];
    for (let i = 0; i < ids.length; i += SERVER_LOOKUP_MAX) {
      const batch = ids.slice(i, i + SERVER_LOOKUP_MAX);
      this.#cloud.lookupServers(batch).then(
        (servers) => {
          const byId = new Map(servers.map((s) => [s.id, s] as const));
          for (const id of batch) for (const w of queued.get(id) ?? []) w.resolve(byId.get(id) ?? 'gone');
        },
        (err: unknown) => {
          for (const id of batch) for (const w of queued.get(id) ?? []) w.reject(err);
        },
      );
    }
  }
}
