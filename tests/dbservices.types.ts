/**
 * Type-level test, run by `npm run check` (tsc): `paige-db/dbservices` resolves through the
 * package export to the built declarations in dist/, with full types. Never executed.
 */
import { createDbServices, DbServicesError, type Contact, type DbServices, type Row, type SqlResult } from 'paige-db/dbservices';

export async function typedUsage(): Promise<void> {
  const db: DbServices = createDbServices();
  const contact: Contact | null = await db.contacts.get('+14155550123');
  const name: string | null | undefined = contact?.name;
  const one: Row = await db.rows.insert('bookings', { name });
  const many: Row[] = await db.rows.insert('bookings', [{ name }, { name }]);
  const result: SqlResult = await db.query('select 1 as one');
  const rowCount: number = result.rowCount;
  const message = await db.messages.record({ phone: '+14155550123', direction: 'inbound', body: 'hi' });
  const status: 'OPEN' | 'CLOSED' = message.conversation.status;
  void [one, many, rowCount, status];

  // @ts-expect-error a direction is inbound or outbound
  await db.messages.record({ phone: '+14155550123', direction: 'sideways' });
  // @ts-expect-error a column type is one of the 11 supported
  await db.tables.ensure('t', [{ name: 'x', type: 'money' }]);
  // @ts-expect-error contacts.get takes a phone string
  await db.contacts.get(14155550123);

  try {
    await db.rows.find('bookings', { where: { service: { _eq: 'haircut' } }, first: 10 });
  } catch (error) {
    if (error instanceof DbServicesError) {
      const code: string = error.code;
      void code;
    }
  }
}
