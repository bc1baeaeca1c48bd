#!/usr/bin/env node
// Runs the booking bot on JSON lines from stdin, one booking-flow submission per line, e.g.
//   {"phone":"+14155550123","name":"Ada","service":"haircut","date":"2025-06-02","messageId":"wamid.1"}
// and prints one JSON line per result. No configuration in the code: createDbServices() reads
// PAIGE_PROJECT_ID + DATABASE_URL or PAIGE_DATA_DIR (in-process) or PAIGE_URL + PAIGE_API_KEY (remote).
import { createInterface } from 'node:readline';
import { createDbServices, DbServicesError } from 'paige-db/dbservices';
import { handleBookingSubmission, setup } from './bot.js';

let db;
try {
  db = createDbServices();
} catch (error) {
  if (!(error instanceof DbServicesError)) throw error;
  console.error(error.message);
  process.exit(2);
}

try {
  await setup(db).catch((error) => {
    // The database or server cannot be used (not started, unreachable, a wrong setting): say why, not a stack.
    if (!(error instanceof DbServicesError)) throw error;
    console.error(`${error.code}: ${error.message}`);
    process.exit(1);
  });
  console.log(JSON.stringify({ ready: true, transport: db.transport }));
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    try {
      console.log(JSON.stringify(await handleBookingSubmission(db, JSON.parse(line))));
    } catch (error) {
      // One bad submission does not stop the bot.
      console.log(JSON.stringify({ error: { code: error.code ?? 'ERROR', message: error.message } }));
    }
  }
} finally {
  await db.close();
}
