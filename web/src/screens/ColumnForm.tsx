import { useState } from 'react';
import { useApp } from '../app-context.js';
import { ADD_COLUMN } from '../api/documents.js';
import { Dialog } from '../components/Dialog.js';
import { FormActions } from '../components/FormActions.js';
import { useAction } from '../use-action.js';
import { ColumnFields, columnInput, newColumnDraft } from './column-fields.js';

/** Adds one column to a custom table. */
export function ColumnForm({ projectId, table, onClose, onDone }: { projectId: string; table: string; onClose: () => void; onDone: () => void }) {
  const { request } = useApp();
  const [draft, setDraft] = useState(() => newColumnDraft());
  const action = useAction();
  return (
    <Dialog title={`Add a column to "${table}"`} onClose={onClose} wide>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const built = columnInput(draft);
          if (!built.ok) return action.setError(built.error);
          if (await action.run(() => request(ADD_COLUMN, { projectId, table, column: built.column }).then(() => undefined))) {
            onDone();
            onClose();
          }
        }}
      >
        <ColumnFields draft={draft} onChange={setDraft} index={0} error={action.error ?? undefined} />
        <FormActions submit="Add column" onCancel={onClose} disabled={action.busy} />
      </form>
    </Dialog>
  );
}
