/**
 * The floor for live delivery: one LISTEN connection and `ws`, nothing else. A row trigger on the
 * floor's tables sends `pg_notify('bench_floor', '<schema>.<table>|<row as JSON>')`; this server
 * writes the row to every socket that subscribed to that table. No change log, no commit
 * ordering, no GraphQL execution, no auth: the least any Node service can do between a commit and
 * a WebSocket frame.
 *
 * It speaks just enough graphql-transport-ws (connection_init → connection_ack, subscribe, ping)
 * that the subscriber processes read it with the same code as ours, and its `next` frames carry
 * the same bytes as paige-db's for `rowChanges { op row }`: the payload is built once per row and
 * the frame per socket, as paige-db does (src/transports/ws-frame-sink.ts). The subscribe's `t`
 * variable names the table as `<schema>.<table>`; the rest of the operation is ignored.
 *
 * Like paige-db it counts commit → socket-write time (the row's `stamped_at` to each `send`) in
 * the same histogram, at GET /metrics, so the bench can set the servers' own delays side by side.
 *
 * Env: DATABASE_URL, PORT.
 */
import { createServer } from 'node:http';
import pg from 'pg';
import { WebSocketServer, type WebSocket } from 'ws';
import { Metrics } from '../src/metrics.js';
import { WRITE_DELAY_BOUNDS, WRITE_DELAY_HELP, WRITE_DELAY_METRIC } from '../src/transports/group-fan-out.js';

const { DATABASE_URL, PORT } = process.env;
const listener = new pg.Client({ connectionString: DATABASE_URL, application_name: 'paige-bench-floor-live' });
await listener.connect();
await listener.query('LISTEN bench_floor');
const metrics = new Metrics();
const writeDelay = metrics.histogram(WRITE_DELAY_METRIC, WRITE_DELAY_HELP, WRITE_DELAY_BOUNDS);

/** The sockets of each table, with the id each subscribed under. */
const byTable = new Map<string, Map<WebSocket, string>>();
listener.on('notification', (message) => {
  const payload = message.payload ?? '';
  const bar = payload.indexOf('|');
  const sockets = byTable.get(payload.slice(0, bar));
  if (!sockets) return;
  const row = payload.slice(bar + 1);
  const stamped = /"stamped_at":"([^"]+)"/.exec(row);
  const stampedMs = stamped ? Date.parse(stamped[1]!) : Number.NaN;
  const payloadJson = `{"data":{"rowChanges":{"op":"INSERT","row":${row}}}}`;
  for (const [socket, id] of sockets) {
    socket.send(`{"id":${JSON.stringify(id)},"type":"next","payload":${payloadJson}}`);
    writeDelay.observe((Date.now() - stampedMs) / 1000);
  }
});

const http = createServer((req, res) => {
  if (req.url === '/metrics') return void res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' }).end('{"status":"ok"}');
});
const wss = new WebSocketServer({ server: http });
wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string; id?: string; payload?: { variables?: { t?: string } } };
    if (message.type === 'connection_init') socket.send('{"type":"connection_ack"}');
    else if (message.type === 'ping') socket.send('{"type":"pong"}');
    else if (message.type === 'subscribe') {
      const table = message.payload?.variables?.t ?? '';
      const sockets = byTable.get(table) ?? new Map<WebSocket, string>();
      byTable.set(table, sockets.set(socket, message.id ?? ''));
      socket.once('close', () => sockets.delete(socket));
    }
  });
});
http.listen(Number(PORT), '127.0.0.1');
