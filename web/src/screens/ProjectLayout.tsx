import { useEffect, useState } from 'react';
import { useApp } from '../app-context.js';
import { PROJECT_TABLES, TABLE_CHANGES, type ProjectTablesResult, type TableChange, type TableChangesResult } from '../api/documents.js';
import { subscribeResumable } from '../api/live.js';
import { ErrorText } from '../components/ErrorText.js';
import { TopBar } from '../components/TopBar.js';
import { routeHref, type Route } from '../route.js';
import { useQuery } from '../use-query.js';
import { ApiKeys } from './ApiKeys.js';
import { CreateTable } from './CreateTable.js';
import { Inbox } from './Inbox.js';
import { TableView } from './TableView.js';

type ProjectRoute = Exclude<Route, { screen: 'projects' }>;

/** A project: its tables on the side (kept current by `tableChanges`), the chosen screen beside. */
export function ProjectLayout({ route }: { route: ProjectRoute }) {
  const { request, live } = useApp();
  const { projectId } = route;
  const tables = useQuery(`tables:${projectId}`, () => request<ProjectTablesResult>(PROJECT_TABLES, { projectId }));
  const [creating, setCreating] = useState(false);
  /** The open table's live total, fresher than the list's count. */
  const [liveCount, setLiveCount] = useState<{ table: string; count: number } | null>(null);
  const reload = tables.reload;
  /** Bumped by every tableChanges event: an open table reads its columns again. */
  const [structureVersion, setStructureVersion] = useState(0);

  useEffect(
    () =>
      subscribeResumable<TableChangesResult, TableChange>(
        live,
        TABLE_CHANGES,
        () => ({ projectId }),
        (data) => data.tableChanges,
        () => null,
        {
          next: () => {
            reload();
            setStructureVersion((v) => v + 1);
          },
          // Tables may have changed while the socket was down: read them again.
          subscribed: (resumed) => {
            if (resumed) reload();
          },
          lost: () => {},
          failed: () => {},
        },
      ),
    [live, projectId, reload],
  );

  const project = tables.data?.project;
  const counts = new Map(project?.custom.map((t) => [t.name, t.rows.totalCount]));
  if (liveCount && counts.has(liveCount.table)) counts.set(liveCount.table, liveCount.count);
  const current = route.screen === 'table' ? route.table : null;
  return (
    <>
      <TopBar>
        <a href="#/">Projects</a>
        <span aria-hidden="true"> / </span>
        <a href={routeHref({ screen: 'project', projectId })} aria-current={route.screen === 'project' ? 'page' : undefined}>
          {project?.name ?? projectId}
        </a>
      </TopBar>
      <div className="project-layout">
        <aside className="sidebar" aria-label="Tables">
          <nav>
            <h2 className="sidebar-heading">Tables</h2>
            {tables.data && !project && <ErrorText message={`project ${projectId} not found`} />}
            <ErrorText message={tables.error} />
            <ul className="table-list">
              {project?.tables.map((table) => (
                <li key={table.name}>
                  <a
                    href={routeHref({ screen: 'table', projectId, table: table.name, after: null, sort: null })}
                    aria-current={current === table.name ? 'page' : undefined}
                    className={current === table.name ? 'active' : undefined}
                  >
                    <span className="table-name">{table.name}</span>
                    {table.system ? (
                      <span className="badge" title="System table: its structure cannot change">
                        system
                      </span>
                    ) : (
                      <span className="count" aria-label={`${counts.get(table.name) ?? 0} rows`}>
                        {counts.get(table.name) ?? ''}
                      </span>
                    )}
                  </a>
                </li>
              ))}
            </ul>
            <button type="button" className="button-primary full" onClick={() => setCreating(true)}>
              New table
            </button>
            <h2 className="sidebar-heading">Project</h2>
            <ul className="table-list">
              <li>
                <a href={routeHref({ screen: 'inbox', projectId })} aria-current={route.screen === 'inbox' ? 'page' : undefined} className={route.screen === 'inbox' ? 'active' : undefined}>
                  Inbox
                </a>
              </li>
              <li>
                <a href={routeHref({ screen: 'keys', projectId })} aria-current={route.screen === 'keys' ? 'page' : undefined} className={route.screen === 'keys' ? 'active' : undefined}>
                  API keys
                </a>
              </li>
            </ul>
          </nav>
        </aside>
        <main className="content">
          {route.screen === 'project' && (
            <div className="empty-state">
              <h1>{project?.name ?? 'Project'}</h1>
              <p className="muted">Choose a table, or create one.</p>
            </div>
          )}
          {route.screen === 'table' && <TableView key={`${route.table}`} route={route} structureVersion={structureVersion} onTablesChanged={reload} onCount={setLiveCount} />}
          {route.screen === 'keys' && <ApiKeys projectId={projectId} />}
          {route.screen === 'inbox' && <Inbox projectId={projectId} />}
        </main>
      </div>
      {creating && <CreateTable projectId={projectId} onClose={() => setCreating(false)} onCreated={reload} />}
    </>
  );
}
