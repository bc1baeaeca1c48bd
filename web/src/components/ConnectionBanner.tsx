import { useEffect, useState } from 'react';
import { useApp } from '../app-context.js';

/** "Connection lost": shown while a live view waits to resume; changes made meanwhile follow on reconnect. */
export function ConnectionBanner() {
  const { live } = useApp();
  const [lost, setLost] = useState(live.isLost());
  useEffect(() => live.onLostChange(setLost), [live]);
  if (!lost) return null;
  return (
    <div className="banner banner-warning" role="status" aria-live="polite">
      Connection lost: reconnecting… Changes made meanwhile will appear when it is back.
    </div>
  );
}
