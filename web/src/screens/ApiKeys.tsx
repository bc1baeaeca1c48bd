import { useState } from 'react';
import { useApp } from '../app-context.js';
import { CREATE_API_KEY, REVOKE_API_KEY, type ApiKey, type CreateApiKeyResult } from '../api/documents.js';
import { listApiKeys } from '../api/api-keys-list.js';
import { ErrorText } from '../components/ErrorText.js';
import { NameForm } from '../components/NameForm.js';
import { useAction } from '../use-action.js';
import { useQuery } from '../use-query.js';

/** A project's API keys: create one (its token shown once, with a copy button), list them, revoke one. */
export function ApiKeys({ projectId }: { projectId: string }) {
  const { request } = useApp();
  const listing = useQuery(`keys:${projectId}`, () => listApiKeys(request, projectId));
  const [created, setCreated] = useState<{ token: string; apiKey: ApiKey } | null>(null);
  /** Keys made in this visit, so they can be revoked where the server cannot list keys yet. */
  const [madeHere, setMadeHere] = useState<ApiKey[]>([]);
  const [revoked, setRevoked] = useState<Set<string>>(new Set());
  const [copied, setCopied] = useState(false);
  const revoking = useAction();

  const keys = listing.data?.supported ? listing.data.keys : madeHere;
  const revoke = (key: ApiKey) =>
    revoking.run(async () => {
      await request(REVOKE_API_KEY, { id: key.id });
      setRevoked((done) => new Set([...done, key.id]));
      listing.reload();
    });
  return (
    <section className="page" aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      <p className="muted">A key may do everything inside this project and nothing outside it. Its token is shown once.</p>
      <NameForm
        label="Key name"
        placeholder="booking bot"
        submit="Create key"
        onSubmit={async (name) => {
          setCopied(false);
          const { createApiKey } = await request<CreateApiKeyResult>(CREATE_API_KEY, { projectId, name });
          setCreated(createApiKey);
          setMadeHere((made) => [createApiKey.apiKey, ...made]);
          listing.reload();
        }}
      />
      <ErrorText message={revoking.error} />
      {created && (
        <div className="token-once" role="status">
          <p>
            Token of <strong>{created.apiKey.name}</strong>. Copy it now: it is not shown again.
          </p>
          <code className="token" data-testid="new-token">
            {created.token}
          </code>
          <button
            type="button"
            onClick={async () => {
              await navigator.clipboard.writeText(created.token);
              setCopied(true);
            }}
          >
            {copied ? 'Copied' : 'Copy token'}
          </button>
          <button type="button" className="button-quiet" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      {listing.data && !listing.data.supported && <p className="note">Listing keys: {listing.data.reason}. Keys created on this page are listed below.</p>}
      <ErrorText message={listing.error} />
      <table className="simple-table">
        <caption className="visually-hidden">API keys</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <tr key={key.id}>
              <td>{key.name}</td>
              <td>{new Date(key.createdAt).toLocaleString()}</td>
              <td>{key.lastUsedAt ? new Date(key.lastUsedAt).toLocaleString() : '—'}</td>
              <td>
                {revoked.has(key.id) ? (
                  <span className="muted">revoked</span>
                ) : (
                  <button type="button" className="button-danger small" onClick={() => void revoke(key)} aria-label={`Revoke key ${key.name}`}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
          {keys.length === 0 && (
            <tr>
              <td colSpan={4} className="muted">
                No keys to show.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
