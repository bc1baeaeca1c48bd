import { useState } from 'react';
import { Dialog } from './Dialog.js';
import { ErrorText } from './ErrorText.js';
import { FormActions } from './FormActions.js';
import { useAction } from '../use-action.js';

/** A destructive action confirmed by typing the name of what it destroys. */
export function ConfirmByName({
  title,
  name,
  description,
  action: actionLabel,
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
  const action = useAction();
  return (
    <Dialog title={title} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (await action.run(onConfirm)) onClose();
        }}
      >
        <p>{description}</p>
        <label className="field">
          <span>
            Type <strong>{name}</strong> to confirm
          </span>
          <input value={typed} onChange={(e) => setTyped(e.target.value)} autoFocus autoComplete="off" />
        </label>
        <ErrorText message={action.error} />
        <FormActions submit={actionLabel} onCancel={onClose} disabled={typed !== name || action.busy} danger />
      </form>
    </Dialog>
  );
}
