import { useState } from 'react';
import { Dialog } from '../components/Dialog.js';
import { ErrorText } from '../components/ErrorText.js';
import { FormActions } from '../components/FormActions.js';
import { useAction } from '../use-action.js';

export function RenameDialog({ title, label, current, onRename, onClose }: { title: string; label: string; current: string; onRename: (name: string) => Promise<void>; onClose: () => void }) {
  const [name, setName] = useState(current);
  const action = useAction();
  return (
    <Dialog title={title} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (await action.run(() => onRename(name.trim()))) onClose();
        }}
      >
        <label className="field">
          <span>{label}</span>
          <input value={name} onChange={(e) => setName(e.target.value)} required autoFocus aria-describedby="rename-error" />
        </label>
        <ErrorText id="rename-error" message={action.error} />
        <FormActions submit="Rename" onCancel={onClose} disabled={name.trim() === '' || name.trim() === current || action.busy} />
      </form>
    </Dialog>
  );
}
