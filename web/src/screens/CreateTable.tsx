import { useState } from 'react';
import { useApp } from '../app-context.js';
import { ApiError } from '../api/client.js';
import { CREATE_TABLE, type ColumnInput } from '../api/documents.js';
import { Dialog } from '../components/Dialog.js';
import { ErrorText } from '../components/ErrorText.js';
import { FormActions } from '../components/FormActions.js';
import { errorMessage } from '../use-action.js';
import { navigate } from '../route.js';
import { ColumnFields, columnInput, newColumnDraft, type ColumnDraft } from './column-fields.js';

/** Creates a custom table: columns of the 11 types, nullable, default, unique, an optional primary key. */
export function CreateTable({ projectId, onClose, onCreated }: { projectId: string; onClose: () => void; onCreated: () => void }) {
  const { request } = useApp();
  const [name, setName] = useState('');
  const [columns, setColumns] = useState<ColumnDraft[]>(() => [newColumnDraft('name')]);
  const [error, setError] = useState<string | null>(null);
  const [columnErrors, setColumnErrors] = useState<Map<string, string>>(new Map());
  return (
    <Dialog title="New table" onClose={onClose} wide>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          setError(null);
          setColumnErrors(new Map());
          const inputs: ColumnInput[] = [];
          for (const draft of columns) {
            const built = columnInput(draft);
            if (!built.ok) return setError(built.error);
            inputs.push(built.column);
          }
          const primaryKey = columns.filter((c) => c.primaryKey).map((c) => c.name.trim());
          try {
            await request(CREATE_TABLE, { projectId, input: { name: name.trim(), columns: inputs, ...(primaryKey.length ? { primaryKey } : {}) } });
            onCreated();
            onClose();
            navigate({ screen: 'table', projectId, table: name.trim(), after: null, sort: null });
          } catch (e) {
            if (e instanceof ApiError && e.columnErrors().size > 0) setColumnErrors(e.columnErrors());
            else setError(errorMessage(e));
          }
        }}
      >
        <label className="field">
          <span>Table name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} required autoFocus placeholder="bookings" />
        </label>
        <p className="muted small">With no primary key chosen, an <code>id</code> bigint identity column is added.</p>
        {columns.map((draft, index) => (
          <div key={draft.id} className="column-row">
            <ColumnFields
              draft={draft}
              index={index}
              withPrimaryKey
              error={columnErrors.get(draft.name.trim())}
              onChange={(next) => setColumns(columns.map((c) => (c.id === draft.id ? next : c)))}
            />
            <button type="button" className="button-quiet small" onClick={() => setColumns(columns.filter((c) => c.id !== draft.id))} aria-label={`Remove column ${index + 1}`}>
              Remove
            </button>
          </div>
        ))}
        <button type="button" onClick={() => setColumns([...columns, newColumnDraft()])}>
          Add column
        </button>
        <ErrorText message={error} />
        <FormActions submit="Create table" onCancel={onClose} />
      </form>
    </Dialog>
  );
}
