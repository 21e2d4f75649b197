// Calls that wait for the token bucket together leave together. A request joins the open batch of
// its group (one DescribeInstances by many idempotency tags, one listing of a subnet's addresses)
// until that batch gets its token and is sent; the next request opens a new batch. An idle bucket
// sends a lone request at once (it waits only for the requests made in the same tick), and a busy
// one, where a 1,000-VM deploy queues, makes one call where there were hundreds: fewer calls
// against EC2's rate limit, and fewer scans for an endpoint whose cost grows with what it holds
// (moto's tag filters walk every tag of every instance: see README, "Rate").

export class Batcher<R> {
  readonly #take: () => Promise<void>;
  readonly #max: number;
  readonly #open = new Map<string, { values: Set<string>; answer: Promise<R> }>();

  /** `take`: the turn of one call (a token); `max`: values one call may carry. */
  constructor(take: () => Promise<void>, max: number) {
    this.#take = take;
    this.#max = max;
  }

  /**
   * Joins `value` to the group's open batch (or opens one) and answers what `send` answered for
   * the whole batch, every value of it: the caller picks its own part out.
   */
  join(group: string, value: string, send: (values: string[]) => Promise<R>): Promise<R> {
    let batch = this.#open.get(group);
    if (batch === undefined || (!batch.values.has(value) && batch.values.size >= this.#max)) {
      const values = new Set<string>();
      const answer = this.#take().then(() => {
        // Sent now: later requests open a new batch.
        if (this.#open.get(group)?.values === values) this.#open.delete(group);
        return send([...values]);
      });
      batch = { values, answer };
      this.#open.set(group, batch);
    }
    batch.values.add(value);
    return batch.answer;
  }
}
