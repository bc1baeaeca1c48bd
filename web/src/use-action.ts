import { useCallback, useState } from 'react';

/** The message of anything a request threw (an ApiError's is the API's own). */
export const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * A form's submit: runs the work once at a time, keeps the error to show next to the form, and
 * says whether it is under way (to disable the button). Resolves true when the work succeeded.
 */
export function useAction() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (work: () => Promise<void>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await work();
      return true;
    } catch (e) {
      setError(errorMessage(e));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { error, setError, busy, run };
}
