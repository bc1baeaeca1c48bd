import { useState } from 'react';
import { Dialog } from '../components/Dialog.js';
import { ErrorText } from '../components/ErrorText.js';

export function RenameDialog({ title, label, current, onRename, onClose }: { title: string; label: string; current: string; onRename: (name: string) => Promise<void>; onClose: () => void }) {
  const [name, setName] = useState(current);
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog title={title} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          setError(null);
          try {
            await onRename(name.trim());
            onClose();
          } catch (e) {
            setError(e instanceof Error ? e.message : String(e));
          }
        }}
      >
        <label className="field">
          <span>{label}</span>
          <input value={name} onChange={(e) => setName(e.target.value)} required autoFocus aria-describedby="rename-error" />
        </label>
        <ErrorText id="rename-error" message={error} />
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button-primary" disabled={name.trim() === '' || name.trim() === current}>
            Rename
          </button>
        </div>
      </form>
    </Dialog>
  );
}
