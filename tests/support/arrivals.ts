/**
 * What an event source has delivered so far (subscription payloads, socket messages,
 * notifications), and waits that settle on the delivery itself: a wait is checked again at every
 * push and at the end, never on a timer. One that expires fails the test with what it awaited and
 * what had come.
 */
export class Arrivals<T> {
  readonly items: T[] = [];
  private endReason: string | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly show: (items: readonly T[]) => string = (items) => JSON.stringify(items)) {}

  push(item: T): void {
    this.items.push(item);
    this.changed();
  }

  /** Nothing more will come (`reason` says why): a wait that what came does not satisfy fails at once. */
  end(reason: string): void {
    this.endReason ??= reason;
    this.changed();
  }

  get ended(): boolean {
    return this.endReason !== undefined;
  }

  /**
   * Resolves with what `check` returns once that is not undefined: at once, or at the push or end
   * that makes it so. Rejects if it throws, if the source ends first, or after `timeoutMs`.
   */
  until<R>(what: string, check: (items: readonly T[]) => R | undefined, timeoutMs = 10_000): Promise<R> {
    // Made here so that a failure points at the test that waited, not at a timer.
    const failure = new Error();
    return new Promise<R>((resolve, reject) => {
      const fail = (message: string) => {
        failure.message = `${message} ${what}; got ${this.shown()}`;
        reject(failure);
      };
      const settle = () => {
        let result: R | undefined;
        try {
          result = check(this.items);
        } catch (error) {
          finish();
          return reject(error);
        }
        if (result !== undefined) {
          finish();
          resolve(result);
        } else if (this.endReason !== undefined) {
          finish();
          fail(`${this.endReason} while waiting for`);
        }
      };
      const timer = setTimeout(() => {
        finish();
        fail(`timed out after ${timeoutMs} ms waiting for`);
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(settle);
      };
      this.waiters.add(settle);
      settle();
    });
  }

  /** The first `count` items that `matches` accepts (every item by default), once they have come. */
  first(count: number, what: string, matches: (item: T) => boolean = () => true, timeoutMs?: number): Promise<T[]> {
    return this.until(what, (items) => {
      const found = items.filter(matches);
      return found.length >= count ? found.slice(0, count) : undefined;
    }, timeoutMs);
  }

  private changed(): void {
    for (const settle of [...this.waiters]) settle();
  }

  private shown(): string {
    const text = this.show(this.items);
    return text.length > 2_000 ? `${text.slice(0, 2_000)}… (${this.items.length} in all)` : text;
  }
}
