import { useState } from 'react';
import type { Column } from '../api/documents.js';
import { ErrorText } from '../components/ErrorText.js';
import { buildWhere, emptyGroup, newCondition, OPERATOR_LABELS, operatorsFor, type Condition, type Group, type Operator } from './filters.js';

/**
 * Builds a `where` of the API's filter language: conditions offering each column only the
 * operators the API accepts for its type, in groups combined with all (_and) or any (_or), each
 * group negatable (_not), nested as deep as wanted.
 */
export function FilterBuilder({
  columns,
  value,
  onChange,
  onApply,
}: {
  columns: Column[];
  value: Group;
  onChange: (group: Group) => void;
  onApply: (where: unknown) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="filter-builder"
      aria-label="Filter rows"
      onSubmit={(event) => {
        event.preventDefault();
        const built = buildWhere(value, columns);
        if (!built.ok) return setError(built.error);
        setError(null);
        onApply(built.where);
      }}
    >
      <GroupEditor group={value} columns={columns} onChange={onChange} depth={0} />
      <ErrorText message={error} />
      <div className="actions">
        <button type="submit" className="button-primary">
          Apply filter
        </button>
        <button
          type="button"
          onClick={() => {
            onChange(emptyGroup());
            setError(null);
            onApply(null);
          }}
        >
          Clear filter
        </button>
      </div>
    </form>
  );
}

function GroupEditor({ group, columns, onChange, onRemove, depth }: { group: Group; columns: Column[]; onChange: (g: Group) => void; onRemove?: () => void; depth: number }) {
  const replaceChild = (id: number, next: Condition | Group | null) =>
    onChange({ ...group, children: group.children.flatMap((child) => (child.id === id ? (next ? [next] : []) : [child])) });
  return (
    <fieldset className="filter-group">
      <legend className="filter-group-legend">
        <label>
          <input type="checkbox" checked={group.negated} onChange={(e) => onChange({ ...group, negated: e.target.checked })} /> not
        </label>{' '}
        <label>
          <span className="visually-hidden">Combine conditions with</span>
          <select value={group.combinator} onChange={(e) => onChange({ ...group, combinator: e.target.value as Group['combinator'] })}>
            <option value="_and">all of (and)</option>
            <option value="_or">any of (or)</option>
          </select>
        </label>
        {onRemove && (
          <button type="button" className="button-quiet small" onClick={onRemove} aria-label="Remove this group">
            Remove group
          </button>
        )}
      </legend>
      {group.children.map((child) =>
        child.kind === 'group' ? (
          <GroupEditor key={child.id} group={child} columns={columns} depth={depth + 1} onChange={(next) => replaceChild(child.id, next)} onRemove={() => replaceChild(child.id, null)} />
        ) : (
          <ConditionEditor key={child.id} condition={child} columns={columns} onChange={(next) => replaceChild(child.id, next)} onRemove={() => replaceChild(child.id, null)} />
        ),
      )}
      <div className="actions">
        <button type="button" className="small" onClick={() => onChange({ ...group, children: [...group.children, newCondition(columns[0]!)] })}>
          Add condition
        </button>
        {depth < 8 && (
          <button type="button" className="small" onClick={() => onChange({ ...group, children: [...group.children, emptyGroup()] })}>
            Add group
          </button>
        )}
      </div>
    </fieldset>
  );
}

function ConditionEditor({ condition, columns, onChange, onRemove }: { condition: Condition; columns: Column[]; onChange: (c: Condition) => void; onRemove: () => void }) {
  const column = columns.find((c) => c.name === condition.column) ?? columns[0]!;
  const operators = operatorsFor(column.type);
  const op = operators.includes(condition.op) ? condition.op : '_eq';
  const list = op === '_in' || op === '_nin';
  return (
    <div className="filter-condition">
      <label>
        <span className="visually-hidden">Column</span>
        <select
          value={column.name}
          onChange={(e) => {
            const next = columns.find((c) => c.name === e.target.value)!;
            onChange({ ...condition, column: next.name, op: operatorsFor(next.type).includes(condition.op) ? condition.op : '_eq' });
          }}
        >
          {columns.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span className="visually-hidden">Operator</span>
        <select value={op} onChange={(e) => onChange({ ...condition, op: e.target.value as Operator, value: e.target.value === '_isNull' ? 'true' : condition.value })}>
          {operators.map((o) => (
            <option key={o} value={o}>
              {OPERATOR_LABELS[o]}
            </option>
          ))}
        </select>
      </label>
      <label className="filter-value">
        <span className="visually-hidden">Value</span>
        {op === '_isNull' ? (
          <select value={condition.value === 'false' ? 'false' : 'true'} onChange={(e) => onChange({ ...condition, value: e.target.value })}>
            <option value="true">yes</option>
            <option value="false">no (is not null)</option>
          </select>
        ) : column.type === 'BOOLEAN' && !list ? (
          <select value={condition.value} onChange={(e) => onChange({ ...condition, value: e.target.value })}>
            <option value="">choose…</option>
            <option value="true">true</option>
            <option value="false">false</option>
          </select>
        ) : list ? (
          <textarea rows={2} value={condition.value} placeholder="one value per line" onChange={(e) => onChange({ ...condition, value: e.target.value })} />
        ) : (
          <input
            value={condition.value}
            type={column.type === 'DATE' ? 'date' : 'text'}
            placeholder={op === '_like' || op === '_ilike' ? 'pattern, % and _ as wildcards' : 'value'}
            onChange={(e) => onChange({ ...condition, value: e.target.value })}
          />
        )}
      </label>
      <button type="button" className="button-quiet small" onClick={onRemove} aria-label={`Remove condition on ${column.name}`}>
        ✕
      </button>
    </div>
  );
}
