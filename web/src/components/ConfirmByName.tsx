import { useState } from 'react';
import { Dialog } from './Dialog.js';
import { ErrorText } from './ErrorText.js';

/** A destructive action confirmed by typing the name of what it destroys. */
export function ConfirmByName({
  title,
  name,
  description,
  action,
  onConfirm,
  onClose,
}: {
  title: string;
  name: string;
  description: string;
  action: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={title} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await onConfirm();
            onClose();
          } catch (e) {
            setError(e instanceof Error ? e.message : String(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        <p>{description}</p>
        <label className="field">
          <span>
            Type <strong>{name}</strong> to confirm
          </span>
          <input value={typed} onChange={(e) => setTyped(e.target.value)} autoFocus autoComplete="off" />
        </label>
        <ErrorText message={error} />
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button-danger" disabled={typed !== name || busy}>
            {action}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
