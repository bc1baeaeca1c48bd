import { useCallback, useEffect, useMemo, useState } from 'react';
import { createRequest } from './api/client.js';
import { createLiveClient } from './api/live.js';
import { AppContext, type AppServices } from './app-context.js';
import { clearToken, readToken, saveToken } from './session.js';
import { useRoute } from './route.js';
import { SignIn } from './screens/SignIn.js';
import { Projects } from './screens/Projects.js';
import { ProjectLayout } from './screens/ProjectLayout.js';
import { ConnectionBanner } from './components/ConnectionBanner.js';

export function App() {
  const [token, setToken] = useState<string | null>(() => readToken());
  const signOut = useCallback(() => {
    clearToken();
    setToken(null);
  }, []);
  if (!token) {
    return (
      <SignIn
        onSignedIn={(value) => {
          saveToken(value);
          setToken(value);
        }}
      />
    );
  }
  return (
<Session token={token} onSignOut={signOut} />
  );
}

function Session({ token, onSignOut }: { token: string; onSignOut: () => void }) {
  const live = useMemo(() => createLiveClient(token), [token]);
  useEffect(() => () => live.dispose(), [live]);
  const services: AppServices = useMemo(() => ({ request: createRequest(token), live, signOut: onSignOut }), [token, live, onSignOut]);
  const route = useRoute();
  return (
    <AppContext.Provider value={services}>
      <ConnectionBanner />
      {route.screen === 'projects' ? <Projects /> : <ProjectLayout route={route} />}
    </AppContext.Provider>
  );
}
