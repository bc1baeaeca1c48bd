/**
 * What fixtures leave behind, disposed after the test file whatever happened in it (graphql-ws's
 * tests keep the same `leftovers`): servers, projects, sockets, subscriptions, sessions. The last
 * one registered goes first, so a project is removed before the server it was made on stops.
 * tests/support/setup.ts registers the disposal for every test file.
 */
type Dispose = () => unknown;

interface Leftover {
  run(): Promise<void>;
  ran: boolean;
}

const leftovers: Leftover[] = [];

/**
 * Registers `dispose` to run after this test file; returns a function that runs it now instead
 * (for a test whose meaning needs it gone earlier). Either way it runs once.
 */
export function leftover(dispose: Dispose): () => Promise<void> {
  let done: Promise<void> | undefined;
  const entry: Leftover = {
    ran: false,
    run: () => {
      entry.ran = true;
      return (done ??= Promise.resolve().then(dispose).then(() => {}));
    },
  };
  leftovers.push(entry);
  return entry.run;
}

/** Disposes every leftover not yet disposed, last first; failures are thrown together once all have run. */
export async function disposeLeftovers(): Promise<void> {
  const errors: unknown[] = [];
  while (leftovers.length > 0) {
    const entry = leftovers.pop()!;
    if (entry.ran) continue;
    await entry.run().catch((error: unknown) => void errors.push(error));
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} leftovers could not be disposed`);
}
