import { createContext, useContext } from 'react';
import type { Request } from './api/client.js';
import type { LiveClient } from './api/live.js';

/** What every screen uses to reach the API: the signed-in session's request function and socket. */
export interface AppServices {
  request: Request;
  live: LiveClient;
  signOut(): void;
}

export const AppContext = createContext<AppServices | null>(null);

export function useApp(): AppServices {
  const services = useContext(AppContext);
  if (!services) throw new Error('useApp outside a signed-in session');
  return services;
}
