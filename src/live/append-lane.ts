/** What a lane is told of the capture it appends for. */
export interface AppendLaneHooks {
  /** The capture's first failure, on any lane: once there is one, nothing queued runs. */
  failure: () => unknown;
  /** Called with a failure of this lane's (once per append that failed). */
  onFailure: (error: unknown) => void;
  /** Called after each append settles. */
  onSettled?: () => void;
}

/**
 * Appends that run one after another on one session, in the order given. Nothing queued behind a
 * failure runs: it would take log positions ahead of the failed work, and its confirmation would
 * skip that work; the stream restarts from what was confirmed instead.
 */
export class AppendLane {
  private chain: Promise<void> = Promise.resolve();
  /** Appends queued or running. */
  private queued = 0;

  constructor(private readonly hooks: AppendLaneHooks) {}

  get idle(): boolean {
    return this.queued === 0;
  }

  run(work: () => Promise<void>): Promise<void> {
    this.queued += 1;
    const run = this.chain
      .then(() => {
        const failure = this.hooks.failure();
        return failure === undefined ? work() : Promise.reject(failure);
      })
      .finally(() => {
        this.queued -= 1;
        this.hooks.onSettled?.();
      });
    this.chain = run.catch((error: unknown) => this.hooks.onFailure(error));
    return run;
  }

  /** Settles once everything queued so far has settled, failed or not. */
  settled(): Promise<void> {
    return this.chain;
  }

  reset(): void {
    this.chain = Promise.resolve();
  }
}
