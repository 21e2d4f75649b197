// Transport: how ready steps travel to the worker as activities. The steps stay steps (the plan,
// reasons, records and failures name them); only the trips through Temporal change, and those trips,
// not the cloud, were most of a large hot_swap's CPU:
// - single: one activity per step;
// - chain: a unit's back-to-back steps (each the sole dependent of the one before, of a kind that
//   chains, waiting for nothing else) as one `enactChain`; only the first link counts in flight;
// - batch: batch creates ten to a `createVms`, chains ready together ten to an `enactChains`; a step
//   that can be a link but chains into nothing (a fresh deploy's associate, a delete's detach-disk and
//   delete-disk) rides there as a chain of one. Each item settles on its own outcome: done, failed
//   for good (as its own activity would have), or run again alone with its own retries.
// Slots: at most `maxConcurrentSteps` activities in flight (a chain or a batch is one), far below
// Temporal's pending-activity cap; batch creates may hold twice that many steps, chains in flight
// (their first links, a chain of one included when batched) at most `maxConcurrentSteps`: a link
// that finds them full waits for one to end.
// Each activity runs in a cancellation scope of its own, so a stopped enactment can abandon the steps
// stuck in a retry loop (`abandon`) without waiting for an outage to end.
import { ApplicationFailure, CancellationScope } from '@temporalio/workflow';
import type { ChainBreak, ChainResult } from '../domain/activities';
import { isBatchCreate } from '../planner/rollout';
import type { CreateVmStep, Step } from '../planner/types';
import { BUILD_OPTIONS, builds, chains } from './activities';
import type { LaunchQueue } from './launch-order';
import type { Ledger } from './ledger';
import { CHAINS_INTO, isLink, type StepActivities } from './step-activities';

/** Creates per `createVms` activity: batch creates of about the same admission rank. */
const CREATE_BATCH = 10;
/** Chains per `enactChains` activity: chains ready at once, in launch order. */
const CHAIN_BATCH = 10;

/** A step to launch, with the links of its chain (itself first; just itself when it does not chain). */
interface Launch {
  step: Step;
  links: Step[];
}

/** How one item of a batch ended: its value, a failure for good, or a retryable one (run it again alone). */
type BatchOutcome<T> =
  | { ok: T }
  | {
      failed: {
        type: string | null;
        message: string;
        broke?: ChainBreak | null;
      };
    }
  | { alone: string };

export class Transport {
  private activitiesInFlight = 0;
  private batchCreatesInFlight = 0;
  private readonly batchCreateSlots: number;
  /** The first steps of the chains in flight (and of the chains of one in flight in a batch). */
  private readonly chainHeads = new Set<string>();
  /** Batch creates and chains that failed in a batch: they run again, each as an activity of its own. */
  private readonly alone = new Set<string>();
  /** The scope each in-flight step's activity runs in (the steps of a batch share one). */
  private readonly scopes = new Map<string, { scope: CancellationScope; steps: Step[] }>();

  constructor(
    private readonly ledger: Ledger,
    private readonly queue: LaunchQueue,
    private readonly activities: StepActivities,
    private readonly slots: number,
  ) {
    this.batchCreateSlots = 2 * slots;
  }

  /** Launches ready steps, in launch order, while slots are free. */
  launchReady(): void {
    while (this.activitiesInFlight < this.slots) {
      const step = this.queue.pop();
      if (!step) return;
      if (isBatchCreate(step) && this.batchCreatesInFlight >= this.batchCreateSlots) {
        // Batch creates launch after every other ready step, so the steps left in the queue are
        // batch creates too: they wait for a create to finish.
        this.queue.push(step);
        return;
      }
      const links = this.chainFrom(step);
      // A link (a chain, or a chain of one) rides in a chain batch unless it failed in one before.
      const batched = isLink(step) && !this.alone.has(step.id);
      if ((batched || links.length > 1) && this.chainHeads.size >= this.slots) {
        // Bounded like the steps they are: wait for a chain to end. A chain of one waits too rather
        // than go alone: its own activity would cost an Action a batch shares (a delete's detaches).
        this.queue.push(step);
        return;
      }
      if (isBatchCreate(step) && !this.alone.has(step.id)) this.launchBatch(this.batchFrom(step));
      else if (batched) this.launchChains(this.chainsFrom({ step, links }));
      else this.launch(step, links);
    }
  }

  private launch(step: Step, links = this.chainFrom(step)): void {
    const chained = links.length > 1;
    this.hold(step, chained);
    const held = [step];
    // Callbacks, not an async function per step: the SDK's promise hook captures a stack trace for
    // every promise a workflow creates, and two async frames with their awaits were about half of
    // a step's promises. The commands are the same: launches happen only after completions settle.
    this.dispatch<unknown>(
      held,
      () => (chained ? this.activities.callChain(links) : this.activities.call(step)),
      (raw) =>
        this.settled(step, () =>
          chained
            ? this.ledger.succeeded(links, (raw as ChainResult).results)
            : this.ledger.succeeded([step], [raw]),
        ),
      (err) => this.settled(step, () => this.ledger.failed(step, links, err)),
    );
  }

  /**
   * Cancels the activities of these in-flight steps and marks every step they carry abandoned (the
   * ledger then counts their end as neither done nor the operation's failure). The activities are
   * cancelled waiting for the worker's answer, so a step that finished anyway is still recorded done.
   */
  abandon(stepIds: Iterable<string>): void {
    for (const id of stepIds) {
      const entry = this.scopes.get(id);
      if (!entry) continue;
      for (const s of entry.steps) {
        this.ledger.abandoned.add(s.id);
        this.scopes.delete(s.id);
      }
      entry.scope.cancel();
    }
  }

  /**
   * Starts one activity, in a scope of its own, and holds its slot until it ends; the slot is free
   * before its steps settle.
   */
  private dispatch<T>(
    steps: Step[],
    start: () => Promise<T>,
    ok: (raw: T) => void,
    failed: (err: unknown) => void,
  ): void {
    const scope = new CancellationScope();
    const entry = { scope, steps };
    for (const s of steps) this.scopes.set(s.id, entry);
    let pending: Promise<T>;
    try {
      pending = scope.run(start);
    } catch (err) {
      pending = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.activitiesInFlight++;
    const release = (): void => {
      this.activitiesInFlight--;
      for (const s of steps) if (this.scopes.get(s.id) === entry) this.scopes.delete(s.id);
    };
    pending.then(
      (raw) => {
        release();
        ok(raw);
      },
      (err: unknown) => {
        release();
        failed(err);
      },
    );
  }

  private launchBatch(batch: CreateVmStep[]): void {
    const summary = `${batch.length} creates: ${batch.map((s) => s.summary).join('; ')}`;
    this.launchMany(
      batch.map((step) => ({ step, links: [step] })),
      () =>
        builds.createVms.executeWithOptions({ ...BUILD_OPTIONS, summary }, [
          { creates: batch.map((s) => this.activities.createInput(s)) },
        ]),
      ({ results }) => results.map((o) => ('built' in o ? { ok: o.built } : o)),
      ({ step }, built) => this.ledger.succeeded([step], [built]),
    );
  }

  private launchChains(launches: Launch[]): void {
    const summary = `${launches.length} chains: ${launches.map(({ links }) => links.map((s) => s.summary).join(', then ')).join('; ')}`;
    this.launchMany(
      launches,
      () =>
        chains.enactChains.executeWithOptions({ ...BUILD_OPTIONS, summary }, [
          { chains: launches.map(({ links }) => ({ links: links.map((s) => this.activities.linkOf(s)) })) },
        ]),
      ({ results }) => results.map((o) => ('done' in o ? { ok: o.done.results } : o)),
      ({ links }, results) => this.ledger.succeeded(links, results),
    );
  }

  /** One activity for several launches (one launch goes alone), each settling on its own outcome. */
  private launchMany<R, T>(
    launches: Launch[],
    start: () => Promise<R>,
    outcomes: (raw: R) => Array<BatchOutcome<T>>,
    done: (launch: Launch, value: T) => void,
  ): void {
    const [only] = launches;
    if (only === undefined) return;
    if (launches.length === 1) return this.launch(only.step, only.links);
    for (const { step } of launches) this.hold(step, !isBatchCreate(step));
    this.dispatch<R>(
      launches.map(({ step }) => step),
      start,
      (raw) => {
        const each = outcomes(raw);
        launches.forEach((launch, i) => {
          const { step, links } = launch;
          const outcome = each[i];
          if (outcome !== undefined && 'ok' in outcome) {
            this.settled(step, () => done(launch, outcome.ok));
          } else if (outcome !== undefined && 'failed' in outcome) {
            const { type, message, broke } = outcome.failed;
            const err = ApplicationFailure.nonRetryable(message, type);
            this.settled(step, () => this.ledger.failed(step, links, err, broke ?? null));
          } else {
            this.settled(step, () => {
              this.alone.add(step.id);
              this.queue.push(step);
            });
          }
        });
      },
      (err) =>
        launches.forEach(({ step, links }) => this.settled(step, () => this.ledger.failed(step, links, err))),
    );
  }

  /** Counts a step in flight, in every bound it takes part in; `settled` gives them back. */
  private hold(step: Step, chained: boolean): void {
    if (isBatchCreate(step)) this.batchCreatesInFlight++;
    if (chained) this.chainHeads.add(step.id);
    this.ledger.inFlight.set(step.id, step);
  }

  private settled(step: Step, outcome: () => void): void {
    try {
      outcome();
    } finally {
      if (isBatchCreate(step)) this.batchCreatesInFlight--;
      this.chainHeads.delete(step.id);
      this.ledger.inFlight.delete(step.id);
      this.ledger.ticks++;
    }
  }

  /**
   * `first` and the ready steps after it in launch order that `pick` takes, up to `room`. A step it
   * passes keeps its place (CHAIN_BATCH of them at most); the one it stops at ends the search.
   */
  private gather(first: Step, room: number, pick: (next: Step) => 'take' | 'pass' | 'stop'): Step[] {
    const taken = [first];
    const passed: Step[] = [];
    while (taken.length < room && passed.length < CHAIN_BATCH) {
      const next = this.queue.pop();
      if (!next) break;
      const verdict = pick(next);
      if (verdict === 'take') taken.push(next);
      else passed.push(next);
      if (verdict === 'stop') break;
    }
    for (const step of passed) this.queue.push(step);
    return taken;
  }

  /**
   * `first` and the chains after it in launch order (a step that can be a link is a chain of one);
   * steps that cannot be links keep their places.
   */
  private chainsFrom(first: Launch): Launch[] {
    const linksOf = new Map([[first.step, first.links]]);
    const room = Math.min(CHAIN_BATCH, this.slots - this.chainHeads.size);
    const heads = this.gather(first.step, room, (next) => {
      if (isBatchCreate(next)) return 'stop';
      const links = this.alone.has(next.id) || !isLink(next) ? [] : this.chainFrom(next);
      if (links.length === 0) return 'pass';
      linksOf.set(next, links);
      return 'take';
    });
    return heads.map((step) => ({ step, links: linksOf.get(step) ?? [step] }));
  }

  /** `step` and the batch creates after it in launch order, as many as a batch and the slots allow. */
  private batchFrom(step: CreateVmStep): CreateVmStep[] {
    const room = Math.min(CREATE_BATCH, this.batchCreateSlots - this.batchCreatesInFlight);
    return this.gather(step, room, (next) =>
      isBatchCreate(next) && !this.alone.has(next.id) ? 'take' : 'stop',
    ).filter(isBatchCreate);
  }

  /** The steps that run with `step` in one activity, `step` first (see CHAINS_INTO). */
  private chainFrom(step: Step): Step[] {
    const links = [step];
    for (let last = step; ;) {
      const after = this.ledger.rollout.dependents(last.id);
      const next = after[0];
      if (
        after.length !== 1 ||
        next === undefined ||
        next.kind !== CHAINS_INTO[last.kind] ||
        next.unit !== last.unit ||
        next.dependsOn.length !== 1 ||
        this.ledger.done.has(next.id)
      )
        return links;
      links.push(next);
      last = next;
    }
  }
}
