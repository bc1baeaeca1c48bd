/** A dialog form's closing row: Cancel, then the submit button (disabled while `disabled`). */
export function FormActions({ submit, onCancel, disabled, danger }: { submit: string; onCancel: () => void; disabled?: boolean; danger?: boolean }) {
  return (
    <div className="actions">
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
      <button type="submit" className={danger ? 'button-danger' : 'button-primary'} disabled={disabled}>
        {submit}
      </button>
    </div>
  );
}
