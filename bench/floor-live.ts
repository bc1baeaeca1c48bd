/**
 * The floor for live delivery: one LISTEN connection and `ws`, nothing else. A row trigger on the
 * floor's tables sends `pg_notify('bench_floor', '<schema>.<table>|<row as JSON>')`; this server
 * sends the row JSON as it is to every socket that subscribed to that table. No change log, no
 * commit ordering, no GraphQL, no auth: the least any Node service can do between a commit and
 * a WebSocket frame.
 *
 * Env: DATABASE_URL, PORT. A socket subscribes with `{"subscribe": "<schema>.<table>"}`.
 */
import { createServer } from 'node:http';
import pg from 'pg';
import { WebSocketServer, type WebSocket } from 'ws';

const { DATABASE_URL, PORT } = process.env;
const listener = new pg.Client({ connectionString: DATABASE_URL, application_name: 'paige-bench-floor-live' });
await listener.connect();
await listener.query('LISTEN bench_floor');

const byTable = new Map<string, Set<WebSocket>>();
listener.on('notification', (message) => {
  const payload = message.payload ?? '';
  const bar = payload.indexOf('|');
  const sockets = byTable.get(payload.slice(0, bar));
  if (!sockets) return;
  const row = payload.slice(bar + 1);
  for (const socket of sockets) socket.send(row);
});

const http = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' }).end('{"status":"ok"}');
});
const wss = new WebSocketServer({ server: http });
wss.on('connection', (socket) => {
  socket.once('message', (data) => {
    const { subscribe } = JSON.parse(String(data)) as { subscribe: string };
    const sockets = byTable.get(subscribe) ?? new Set();
    byTable.set(subscribe, sockets.add(socket));
    socket.on('close', () => sockets.delete(socket));
  });
});
http.listen(Number(PORT), '127.0.0.1');
