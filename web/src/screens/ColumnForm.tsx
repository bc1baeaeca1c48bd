import { useState } from 'react';
import { useApp } from '../app-context.js';
import { ADD_COLUMN } from '../api/documents.js';
import { Dialog } from '../components/Dialog.js';
import { ErrorText } from '../components/ErrorText.js';
import { ColumnFields, columnInput, newColumnDraft } from './column-fields.js';

/** Adds one column to a custom table. */
export function ColumnForm({ projectId, table, onClose, onDone }: { projectId: string; table: string; onClose: () => void; onDone: () => void }) {
  const { request } = useApp();
  const [draft, setDraft] = useState(() => newColumnDraft());
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog title={`Add a column to "${table}"`} onClose={onClose} wide>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const built = columnInput(draft);
          if (!built.ok) return setError(built.error);
          setError(null);
          try {
            await request(ADD_COLUMN, { projectId, table, column: built.column });
            onDone();
            onClose();
          } catch (e) {
            setError(e instanceof Error ? e.message : String(e));
          }
        }}
      >
        <ColumnFields draft={draft} onChange={setDraft} index={0} error={error ?? undefined} />
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button-primary">
            Add column
          </button>
        </div>
        <ErrorText message={null} />
      </form>
    </Dialog>
  );
}
