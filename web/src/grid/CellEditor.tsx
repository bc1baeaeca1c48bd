import { useState, type KeyboardEvent } from 'react';
import type { Column } from '../api/documents.js';
import { ApiError } from '../api/client.js';
import { formatValue, parseInput, PLACEHOLDERS } from '../values.js';

/**
 * One cell being edited: Enter saves (Ctrl+Enter in a jsonb box), Escape cancels. A value the
 * API refuses keeps the editor open with the API's message under it; nothing is written.
 */
export function CellEditor({
  column,
  value,
  changedMeanwhile,
  onSave,
  onCancel,
}: {
  column: Column;
  value: unknown;
  changedMeanwhile: boolean;
  onSave: (value: unknown) => Promise<void>;
  onCancel: () => void;
}) {
  const [draft, setDraft] = useState(() => formatValue(value, column.type));
  const [isNull, setIsNull] = useState(value === null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const errorId = `cell-error-${column.name}`;

  const save = async () => {
    const parsed = isNull ? { ok: true as const, value: null } : parseInput(draft, { ...column, nullable: false });
    if (!parsed.ok) return setError(parsed.error);
    setBusy(true);
    setError(null);
    try {
      await onSave(parsed.value);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
      setBusy(false);
    }
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      onCancel();
    } else if (event.key === 'Enter' && (column.type !== 'JSONB' || event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      void save();
    }
  };
  const label = `Edit ${column.name}`;
  return (
    <div className="cell-editor" onKeyDown={onKeyDown}>
      {column.type === 'BOOLEAN' ? (
        <select aria-label={label} value={isNull ? '' : draft} onChange={(e) => setDraft(e.target.value)} disabled={isNull} autoFocus>
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      ) : column.type === 'JSONB' ? (
        <textarea aria-label={label} value={draft} onChange={(e) => setDraft(e.target.value)} disabled={isNull} autoFocus rows={3} aria-describedby={errorId} />
      ) : (
        <input
          aria-label={label}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          disabled={isNull}
          autoFocus
          placeholder={PLACEHOLDERS[column.type]}
          aria-invalid={error ? true : undefined}
          aria-describedby={errorId}
          type={column.type === 'DATE' ? 'date' : 'text'}
          inputMode={['INTEGER', 'BIGINT', 'SERIAL', 'NUMERIC'].includes(column.type) ? 'decimal' : undefined}
        />
      )}
      {column.nullable && (
        <label className="null-toggle">
          <input type="checkbox" checked={isNull} onChange={(e) => setIsNull(e.target.checked)} /> NULL
        </label>
      )}
      <button type="button" className="button-primary small" onClick={() => void save()} disabled={busy}>
        Save
      </button>
      <button type="button" className="button-quiet small" onClick={onCancel}>
        Cancel
      </button>
      {changedMeanwhile && <p className="note">Changed by someone else since you began; saving overwrites it.</p>}
      {error && (
        <p className="error-text" id={errorId} role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
