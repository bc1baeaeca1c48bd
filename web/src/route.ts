import { useEffect, useState } from 'react';

/**
 * Where the person is, in the URL's fragment (so a reload or a shared link comes back to it):
 *   #/                                  projects
 *   #/p/<projectId>                     the project's tables
 *   #/p/<projectId>/t/<table>[?after=…&sort=col:DESC]
 *   #/p/<projectId>/keys                API keys
 *   #/p/<projectId>/inbox               conversations
 * Never a token.
 */
export type Route =
  | { screen: 'projects' }
  | { screen: 'project'; projectId: string }
  | { screen: 'table'; projectId: string; table: string; after: string | null; sort: { column: string; direction: 'ASC' | 'DESC' } | null }
  | { screen: 'keys'; projectId: string }
  | { screen: 'inbox'; projectId: string };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  if (parts[0] === 'p' && parts[1]) {
    const projectId = parts[1];
    if (parts[2] === 't' && parts[3]) {
      const sortParam = /^(.*):(ASC|DESC)$/.exec(params.get('sort') ?? '');
      return {
        screen: 'table',
        projectId,
        table: parts[3],
        after: params.get('after'),
        sort: sortParam ? { column: sortParam[1]!, direction: sortParam[2] as 'ASC' | 'DESC' } : null,
      };
    }
    if (parts[2] === 'keys') return { screen: 'keys', projectId };
    if (parts[2] === 'inbox') return { screen: 'inbox', projectId };
    return { screen: 'project', projectId };
  }
  return { screen: 'projects' };
}

export function routeHref(route: Route): string {
  const e = encodeURIComponent;
  switch (route.screen) {
    case 'projects':
      return '#/';
    case 'project':
      return `#/p/${e(route.projectId)}`;
    case 'keys':
      return `#/p/${e(route.projectId)}/keys`;
    case 'inbox':
      return `#/p/${e(route.projectId)}/inbox`;
    case 'table': {
      const params = new URLSearchParams();
      if (route.sort) params.set('sort', `${route.sort.column}:${route.sort.direction}`);
      if (route.after) params.set('after', route.after);
      const query = params.toString();
      return `#/p/${e(route.projectId)}/t/${e(route.table)}${query ? `?${query}` : ''}`;
    }
  }
}

export const navigate = (route: Route) => {
  location.hash = routeHref(route);
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
