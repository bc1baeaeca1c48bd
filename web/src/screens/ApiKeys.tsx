import { useState } from 'react';
import { useApp } from '../app-context.js';
import { API_KEYS, CREATE_API_KEY, REVOKE_API_KEY, type ApiKey, type ApiKeysResult, type CreateApiKeyResult } from '../api/documents.js';
import { ConfirmByName } from '../components/ConfirmByName.js';
import { ErrorText } from '../components/ErrorText.js';
import { NameForm } from '../components/NameForm.js';
import { useQuery } from '../use-query.js';

/** A time as the person's locale writes it, with the exact value for machines and a tooltip. */
function Time({ at }: { at: string }) {
  return (
    <time dateTime={at} title={at}>
      {new Date(at).toLocaleString()}
    </time>
  );
}

/**
 * A project's API keys, as `apiKeys` lists them (name, creation, last use; never a token): create
 * one (its token shown once, with a copy button), revoke one (confirmed by typing its name). The
 * list is read again after each.
 */
export function ApiKeys({ projectId }: { projectId: string }) {
  const { request } = useApp();
  // The list stays on screen while it is read again after a change.
  const listing = useQuery(`keys:${projectId}`, () => request<ApiKeysResult>(API_KEYS, { projectId }), { keepData: true });
  const [created, setCreated] = useState<{ token: string; apiKey: ApiKey } | null>(null);
  const [copied, setCopied] = useState(false);
  /** The key whose revocation awaits confirmation. */
  const [confirming, setConfirming] = useState<ApiKey | null>(null);
  /** Revoked here: gone from the list at once, before the list is read again (ids are never reused). */
  const [revoked, setRevoked] = useState<ReadonlySet<string>>(new Set());

  const keys = listing.data?.apiKeys.filter((key) => !revoked.has(key.id));
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
          listing.reload();
        }}
      />
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
      <ErrorText message={listing.error} />
      <div className="table-scroll">
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
            {keys?.map((key) => (
              <tr key={key.id}>
                <td>{key.name}</td>
                <td>
                  <Time at={key.createdAt} />
                </td>
                <td>{key.lastUsedAt ? <Time at={key.lastUsedAt} /> : <span className="muted">never</span>}</td>
                <td className="cell-action">
                  <button type="button" className="button-danger small" aria-label={`Revoke key ${key.name}`} onClick={() => setConfirming(key)}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
            {keys?.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">
                  No keys yet: a bot needs one to reach this project.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {confirming && (
        <ConfirmByName
          title={`Revoke API key "${confirming.name}"`}
          name={confirming.name}
          description={`Every program using the key "${confirming.name}" loses access to this project at once; its open live connections close within seconds. This cannot be undone: a new key has a new token.`}
          action="Revoke key"
          onClose={() => setConfirming(null)}
          onConfirm={async () => {
            await request(REVOKE_API_KEY, { id: confirming.id });
            setRevoked((done) => new Set(done).add(confirming.id));
            // Its token is worthless now: do not keep offering to copy it.
            setCreated((shown) => (shown?.apiKey.id === confirming.id ? null : shown));
            listing.reload();
          }}
        />
      )}
    </section>
  );
}
