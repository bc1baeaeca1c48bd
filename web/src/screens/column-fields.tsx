import { COLUMN_TYPES, type ColumnInput, type ColumnType } from '../api/documents.js';
import { nextId } from '../grid/filters.js';
import { parseInput, PLACEHOLDERS } from '../values.js';

/** One column as a form holds it, before it becomes a ColumnInput. */
export interface ColumnDraft {
  id: number;
  name: string;
  type: ColumnType;
  nullable: boolean;
  unique: boolean;
  primaryKey: boolean;
  /** '' none; 'value' the literal in `defaultValue`; or an expression the API accepts. */
  defaultMode: '' | 'value' | 'now()' | 'current_date' | 'gen_random_uuid()';
  defaultValue: string;
  maxLength: string;
}

export const newColumnDraft = (name = ''): ColumnDraft => ({
  id: nextId(),
  name,
  type: 'TEXT',
  nullable: true,
  unique: false,
  primaryKey: false,
  defaultMode: '',
  defaultValue: '',
  maxLength: '',
});

/** The expressions the API accepts as defaults, for the types they fit. */
const EXPRESSIONS: Partial<Record<ColumnType, ColumnDraft['defaultMode'][]>> = {
  TIMESTAMPTZ: ['now()'],
  DATE: ['current_date'],
  UUID: ['gen_random_uuid()'],
};

export function columnInput(draft: ColumnDraft): { ok: true; column: ColumnInput } | { ok: false; error: string } {
  const column: ColumnInput = { name: draft.name.trim(), type: draft.type, nullable: draft.nullable && !draft.primaryKey, unique: draft.unique };
  if (draft.type === 'VARCHAR' && draft.maxLength.trim() !== '') {
    if (!/^\d+$/.test(draft.maxLength.trim())) return { ok: false, error: `${column.name}: maximum length must be a whole number` };
    column.maxLength = Number(draft.maxLength.trim());
  }
  if (draft.defaultMode === 'value') {
    const parsed = parseInput(draft.defaultValue, { name: column.name, type: draft.type, nullable: false });
    if (!parsed.ok) return { ok: false, error: `${column.name} default: ${parsed.error}` };
    column.default = parsed.value;
  } else if (draft.defaultMode) {
    column.default = { expression: draft.defaultMode };
  }
  return { ok: true, column };
}

/** The inputs of one column; `errors` are the API's, by column name. */
export function ColumnFields({
  draft,
  onChange,
  error,
  withPrimaryKey,
  index,
}: {
  draft: ColumnDraft;
  onChange: (draft: ColumnDraft) => void;
  error?: string;
  withPrimaryKey?: boolean;
  index: number;
}) {
  const id = `column-${draft.id}`;
  const expressions = EXPRESSIONS[draft.type] ?? [];
  const set = (patch: Partial<ColumnDraft>) => onChange({ ...draft, ...patch });
  return (
    <fieldset className="column-fields" aria-describedby={error ? `${id}-error` : undefined}>
      <legend className="visually-hidden">Column {index + 1}</legend>
      <label className="field">
        <span>Name</span>
        <input value={draft.name} onChange={(e) => set({ name: e.target.value })} required aria-invalid={error ? true : undefined} />
      </label>
      <label className="field">
        <span>Type</span>
        <select
          aria-label="Type"
          value={draft.type}
          onChange={(e) => {
            const type = e.target.value as ColumnType;
            set({ type, defaultMode: draft.defaultMode === 'value' || (EXPRESSIONS[type] ?? []).includes(draft.defaultMode) ? draft.defaultMode : '' });
          }}
        >
          {COLUMN_TYPES.map((type) => (
            <option key={type} value={type}>
              {type.toLowerCase()}
            </option>
          ))}
        </select>
      </label>
      {draft.type === 'VARCHAR' && (
        <label className="field narrow">
          <span>Max length</span>
          <input value={draft.maxLength} onChange={(e) => set({ maxLength: e.target.value })} inputMode="numeric" placeholder="none" />
        </label>
      )}
      {draft.type !== 'SERIAL' && (
        <label className="field">
          <span>Default</span>
          <select aria-label="Default" value={draft.defaultMode} onChange={(e) => set({ defaultMode: e.target.value as ColumnDraft['defaultMode'] })}>
            <option value="">none</option>
            <option value="value">a value…</option>
            {expressions.map((expression) => (
              <option key={expression} value={expression}>
                {expression}
              </option>
            ))}
          </select>
        </label>
      )}
      {draft.defaultMode === 'value' && (
        <label className="field">
          <span>Default value</span>
          <input value={draft.defaultValue} onChange={(e) => set({ defaultValue: e.target.value })} placeholder={PLACEHOLDERS[draft.type]} />
        </label>
      )}
      <label className="check">
        <input type="checkbox" checked={draft.nullable && !draft.primaryKey} disabled={draft.primaryKey} onChange={(e) => set({ nullable: e.target.checked })} /> nullable
      </label>
      <label className="check">
        <input type="checkbox" checked={draft.unique} onChange={(e) => set({ unique: e.target.checked })} /> unique
      </label>
      {withPrimaryKey && (
        <label className="check">
          <input type="checkbox" checked={draft.primaryKey} onChange={(e) => set({ primaryKey: e.target.checked })} /> primary key
        </label>
      )}
      {error && (
        <p className="error-text" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
    </fieldset>
  );
}
