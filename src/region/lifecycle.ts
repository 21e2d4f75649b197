// Drives BUILD → ACTIVE/ERROR and DELETING → gone from the deadlines stored in the rows: one timer for
// the earliest deadline, not one per server, and nothing held in memory that a restart would lose.

export interface DueRunner {
  /** Applies every transition due at `now`; returns the next deadline (epoch ms) or null. */
  runDue(now?: number): number | null;
}

export class Lifecycle {
  readonly #runner: DueRunner;
  #timer: NodeJS.Timeout | undefined;
  #wakeAt = Infinity;
  #stopped = false;

  constructor(runner: DueRunner) {
    this.#runner = runner;
  }

  /** Catches up on everything overdue (e.g. after a restart) and arms the timer for the rest. */
  start(): void {
    this.#tick();
  }

  /** A new deadline exists; wake up no later than it. */
  poke(at: number): void {
    if (this.#stopped || at >= this.#wakeAt) return;
    this.#arm(at);
  }

  /** Applies due transitions now, so a request never sees a state whose deadline already passed. */
  catchUp(): void {
    if (!this.#stopped) this.#runner.runDue();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#timer = undefined;
    this.#wakeAt = Infinity;
    const next = this.#runner.runDue();
    if (next !== null) this.#arm(next);
  }

  #arm(at: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#wakeAt = at;
    // Clamp: setTimeout overflows past ~24.8 days; waking early just re-arms.
    const delay = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
    this.#timer = setTimeout(() => this.#tick(), delay);
  }
}
