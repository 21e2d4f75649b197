// A client-side token bucket in front of every EC2 call: EC2 throttles per account and per action
// with buckets of its own, and a director that fires as fast as its activities ask (BOSH's 2,000-VM
// run) spends its time in RequestLimitExceeded backoff. Waiting here costs less than being refused.

export interface RateLimit {
  /** Requests per second, sustained. */
  perSecond: number;
  /** Requests that may go at once after a quiet spell. */
  burst: number;
}

export class TokenBucket {
  readonly #perMs: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;
  /** Callers waiting, in arrival order: a new caller never overtakes a waiting one. */
  #queue: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(limit: RateLimit) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1))
      throw new RangeError('rate limit: perSecond > 0, burst >= 1');
    this.#perMs = limit.perSecond / 1000;
    this.#burst = limit.burst;
    this.#tokens = limit.burst;
    this.#at = Date.now();
  }

  /** Resolves when the caller may send one request. */
  take(): Promise<void> {
    this.#refill();
    if (this.#queue.length === 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#queue.push(resolve);
      this.#schedule();
    });
  }

  #refill(): void {
    const now = Date.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs);
    this.#at = now;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    const wait = Math.max(1, Math.ceil((1 - this.#tokens) / this.#perMs));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#refill();
      while (this.#queue.length > 0 && this.#tokens >= 1) {
        this.#tokens -= 1;
        this.#queue.shift()?.();
      }
      if (this.#queue.length > 0) this.#schedule();
    }, wait);
  }
}

/**
 * Calls in flight at most: the rate bounds how fast calls leave, not how many wait for answers. An
 * endpoint slower than the rate (moto at 400 instances) otherwise gathers them in the SDK's socket
 * queue (50 sockets, 1,800 calls waiting in ec2-hotswap-200), where nothing batches them and every
 * answer waits behind all of them. Waiting here instead, lookups join the batch of the next call.
 */
export class InFlightCap {
  readonly #max: number;
  #busy = 0;
  #queue: Array<() => void> = [];

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('calls in flight: a whole number >= 1');
    this.#max = max;
  }

  /** Resolves when the caller may send; it must `leave` once answered. */
  enter(): Promise<void> {
    if (this.#busy < this.#max && this.#queue.length === 0) {
      this.#busy += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#queue.push(resolve));
  }

  leave(): void {
    const next = this.#queue.shift();
    // The slot passes straight to the next caller: #busy stays as it is.
    if (next) next();
    else this.#busy = Math.max(0, this.#busy - 1);
  }
}
