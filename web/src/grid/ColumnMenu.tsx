import { useEffect, useRef, useState } from 'react';

/** A column header's menu: a button that opens a short list of actions; Escape or a click elsewhere closes it. */
export function ColumnMenu({ column, actions }: { column: string; actions: { label: string; danger?: boolean; run: () => void }[] }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (event: MouseEvent) => {
      if (!ref.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);
  return (
    <div
      className="column-menu"
      ref={ref}
      onKeyDown={(event) => {
        if (event.key === 'Escape') setOpen(false);
      }}
    >
      <button type="button" className="column-menu-button" aria-haspopup="true" aria-expanded={open} aria-label={`Column ${column} actions`} onClick={() => setOpen(!open)}>
        ⋯
      </button>
      {open && (
        <div className="menu">
          {actions.map((action) => (
            <button
              key={action.label}
              type="button"
              className={action.danger ? 'button-danger' : undefined}
              onClick={() => {
                setOpen(false);
                action.run();
              }}
            >
              {action.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
