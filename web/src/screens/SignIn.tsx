import { useState } from 'react';
import { ApiError, createRequest } from '../api/client.js';
import { PROJECTS, type ProjectsResult } from '../api/documents.js';
import { ErrorText } from '../components/ErrorText.js';
import { errorMessage } from '../use-action.js';

/** Sign in with the admin token or a project key; the token is checked by listing projects. */
export function SignIn({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main className="sign-in">
      <form
        className="card"
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await createRequest(token.trim())<ProjectsResult>(PROJECTS);
            onSignedIn(token.trim());
          } catch (e) {
            setError(e instanceof ApiError && e.code === 'UNAUTHENTICATED' ? `Not signed in: ${e.message}` : errorMessage(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>paige-db</h1>
        <p className="muted">Sign in with the admin token or a project API key. It is kept in this tab only.</p>
        <label className="field">
          <span>Token</span>
          <input
            type="password"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            required
            aria-describedby="sign-in-error"
            autoFocus
          />
        </label>
        <ErrorText id="sign-in-error" message={error} />
        <button type="submit" className="button-primary" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
        <p className="muted small">
          The GraphQL API and GraphiQL are at <a href="/graphql">/graphql</a>.
        </p>
      </form>
    </main>
  );
}
