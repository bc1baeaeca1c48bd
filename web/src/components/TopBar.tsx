import type { ReactNode } from 'react';
import { useApp } from '../app-context.js';

export function TopBar({ children }: { children?: ReactNode }) {
  const { signOut } = useApp();
  return (
    <header className="top-bar">
      <a className="brand" href="#/">
        paige-db
      </a>
      <nav className="top-bar-nav" aria-label="Breadcrumb">
        {children}
      </nav>
      <button type="button" className="button-quiet" onClick={signOut}>
        Sign out
      </button>
    </header>
  );
}
