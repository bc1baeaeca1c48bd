import { useState } from 'react';
import { useApp } from '../app-context.js';
import { ApiError } from '../api/client.js';
import { INSERT_ROWS, type Column, type TableDetail } from '../api/documents.js';
import { Dialog } from '../components/Dialog.js';
import { ErrorText } from '../components/ErrorText.js';
import { FormActions } from '../components/FormActions.js';
import { errorMessage } from '../use-action.js';
import { nowWithOffset, parseInput, PLACEHOLDERS } from '../values.js';

type Mode = 'value' | 'default' | 'null';

/** Where the table fills a value itself: a default, an identity or serial key, or NULL. */
const fillsItself = (column: Column) => column.default !== null || column.type === 'SERIAL' || (column.primaryKey && (column.type === 'BIGINT' || column.type === 'INTEGER'));

/**
 * Inserts one row with an input per column, typed by the column: dates, timestamps with their
 * offset, numbers kept exact as text, jsonb checked as JSON before sending. A refused value shows
 * the API's message next to its field, and nothing is written (one insert statement).
 */
export function RowForm({ projectId, table, onClose, onInserted }: { projectId: string; table: TableDetail; onClose: () => void; onInserted: () => void }) {
  const { request } = useApp();
  const [values, setValues] = useState<Record<string, string>>({});
  const [modes, setModes] = useState<Record<string, Mode>>(() => Object.fromEntries(table.columns.map((c) => [c.name, fillsItself(c) ? 'default' : 'value'])));
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    const row: Record<string, unknown> = {};
    const found = new Map<string, string>();
    for (const column of table.columns) {
      const mode = modes[column.name] ?? 'value';
      if (mode === 'default') continue;
      if (mode === 'null') {
        row[column.name] = null;
        continue;
      }
      const parsed = parseInput(values[column.name] ?? '', { ...column, nullable: false });
      if (parsed.ok) row[column.name] = parsed.value;
      else found.set(column.name, parsed.error);
    }
    setErrors(found);
    setError(null);
    if (found.size > 0) return;
    setBusy(true);
    try {
      await request(INSERT_ROWS, { projectId, table: table.name, rows: [row] });
      onInserted();
      onClose();
    } catch (e) {
      if (e instanceof ApiError && e.columnErrors().size > 0) setErrors(e.columnErrors());
      else setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title={`Insert a row into "${table.name}"`} onClose={onClose} wide>
      <form
        className="row-form"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        {table.columns.map((column) => {
          const mode = modes[column.name] ?? 'value';
          const id = `insert-${column.name}`;
          const message = errors.get(column.name);
          const setValue = (value: string) => setValues({ ...values, [column.name]: value });
          const common = {
            id,
            'aria-invalid': message ? true : undefined,
            'aria-describedby': message ? `${id}-error` : undefined,
            disabled: mode !== 'value',
          } as const;
          return (
            <div className="row-field" key={column.name}>
              <label htmlFor={id} className="row-field-label">
                {column.name} <span className="column-type">{column.type.toLowerCase()}{column.nullable || fillsItself(column) ? '' : ' · required'}</span>
              </label>
              <div className="row-field-input">
                {column.type === 'BOOLEAN' ? (
                  <select {...common} value={values[column.name] ?? ''} onChange={(e) => setValue(e.target.value)}>
                    <option value="">choose…</option>
                    <option value="true">true</option>
                    <option value="false">false</option>
                  </select>
                ) : column.type === 'JSONB' ? (
                  <textarea {...common} rows={3} value={values[column.name] ?? ''} placeholder={PLACEHOLDERS.JSONB} onChange={(e) => setValue(e.target.value)} />
                ) : (
                  <input
                    {...common}
                    type={column.type === 'DATE' ? 'date' : 'text'}
                    inputMode={['INTEGER', 'BIGINT', 'NUMERIC', 'SERIAL'].includes(column.type) ? 'decimal' : undefined}
                    maxLength={column.type === 'VARCHAR' && column.maxLength ? column.maxLength : undefined}
                    value={values[column.name] ?? ''}
                    placeholder={PLACEHOLDERS[column.type]}
                    onChange={(e) => setValue(e.target.value)}
                  />
                )}
                {column.type === 'TIMESTAMPTZ' && mode === 'value' && (
                  <button type="button" className="small" onClick={() => setValue(nowWithOffset())}>
                    Now
                  </button>
                )}
                {column.type === 'UUID' && mode === 'value' && (
                  <button type="button" className="small" onClick={() => setValue(crypto.randomUUID())}>
                    New uuid
                  </button>
                )}
                <label className="visually-hidden" htmlFor={`${id}-mode`}>
                  How {column.name} is filled
                </label>
                <select id={`${id}-mode`} value={mode} onChange={(e) => setModes({ ...modes, [column.name]: e.target.value as Mode })}>
                  <option value="value">value</option>
                  <option value="default">{fillsItself(column) ? 'default' : 'leave out'}</option>
                  {column.nullable && <option value="null">NULL</option>}
                </select>
              </div>
              {message && (
                <p className="error-text" id={`${id}-error`} role="alert">
                  {message}
                </p>
              )}
            </div>
          );
        })}
        <ErrorText message={error} />
        <FormActions submit="Insert row" onCancel={onClose} disabled={busy} />
      </form>
    </Dialog>
  );
}
