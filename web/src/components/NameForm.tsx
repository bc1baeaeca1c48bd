import { useState } from 'react';
import { useAction } from '../use-action.js';
import { ErrorText } from './ErrorText.js';

/** One name and a button (a new project, a new key): the API's refusal shows under it. */
export function NameForm({ label, placeholder, submit, onSubmit }: { label: string; placeholder: string; submit: string; onSubmit: (name: string) => Promise<void> }) {
  const [name, setName] = useState('');
  const action = useAction();
  return (
    <>
      <form
        className="inline-form"
        onSubmit={async (event) => {
          event.preventDefault();
          if (await action.run(() => onSubmit(name.trim()))) setName('');
        }}
      >
        <label className="field">
          <span>{label}</span>
          <input value={name} onChange={(e) => setName(e.target.value)} required placeholder={placeholder} />
        </label>
        <button type="submit" className="button-primary" disabled={action.busy}>
          {submit}
        </button>
      </form>
      <ErrorText message={action.error} />
    </>
  );
}
