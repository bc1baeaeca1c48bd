/**
 * The signed-in token lives in sessionStorage only: gone when the tab closes, never in a URL,
 * never logged, never sent anywhere but this origin's /graphql (header, or graphql-ws
 * connectionParams).
 */
const KEY = 'paige-db.token';

export const readToken = (): string | null => sessionStorage.getItem(KEY);
export const saveToken = (token: string) => sessionStorage.setItem(KEY, token);
export const clearToken = () => sessionStorage.removeItem(KEY);
