import { useCallback, useEffect, useState } from 'react';
import { errorMessage } from './use-action.js';

/**
 * Runs a read when its key changes; `reload` runs it again. The last answer wins. With
 * `keepData`, the previous answer stays shown while the next is read (a refresh, not a new screen).
 */
export function useQuery<T>(key: string, run: () => Promise<T>, { keepData = false } = {}) {
  const [state, setState] = useState<{ key: string; data?: T; error?: string; loading: boolean }>({ key, loading: true });
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let current = true;
    setState((previous) => ({ key, data: previous.key === key || keepData ? previous.data : undefined, loading: true }));
    run().then(
      (data) => current && setState({ key, data, loading: false }),
      (error: unknown) => current && setState({ key, error: errorMessage(error), loading: false }),
    );
    return () => {
      current = false;
    };
    // `run` is a new function each render; the key says when the read differs.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { ...state, reload };
}
