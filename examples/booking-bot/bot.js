// The booking bot's logic: "when a user submits the booking flow, save the booking to a
// `bookings` table with their name, service, date and phone number".
// Plain JavaScript on purpose: this is what bot code in a Paige runtime looks like.
import { DbServicesError } from 'paige-db/dbservices';

/** The table the bot owns. tables.ensure creates it, or adds what is missing; it never drops or changes anything. */
export const BOOKING_COLUMNS = [
  { name: 'name', type: 'text', nullable: false },
  { name: 'service', type: 'text', nullable: false },
  { name: 'date', type: 'date', nullable: false },
  { name: 'phone', type: 'text', nullable: false },
  // The inbound message that asked for it: a retried submission finds its booking instead of making a second one.
  { name: 'message_id', type: 'bigint', unique: true },
  { name: 'created_at', type: 'timestamptz', nullable: false, default: { expression: 'now()' } },
];

/** Run once when the bot starts. */
export async function setup(db) {
  await db.tables.ensure('bookings', BOOKING_COLUMNS);
}

/**
 * One booking-flow submission: { phone, name, service, date, messageId }. `messageId` is the
 * channel's id for the message (e.g. a WhatsApp wamid): a retry with the same id changes nothing.
 * Returns what happened and the reply that was sent.
 */
export async function handleBookingSubmission(db, submission) {
  const { phone, name, service, date, messageId } = submission;

  // 1. The person: upsert by phone number, so a returning customer keeps one contact.
  const contact = await db.contacts.upsert({ phone, name });

  // 2. What they sent, stored in their open conversation (opened if needed).
  const inbound = await db.messages.record({
    phone,
    direction: 'inbound',
    body: `Book ${service} on ${date}`,
    payload: { flow: 'booking', name, service, date },
    idempotencyKey: messageId,
  });

  // 3. The booking itself. Bad input (say, a date that does not exist) comes back as a
  //    DbServicesError with code BAD_USER_INPUT naming the column, and the user is told.
  let booking;
  let reply;
  try {
    booking = await db.rows.insert('bookings', { name, service, date, phone, message_id: inbound.id });
  } catch (error) {
    if (!(error instanceof DbServicesError)) throw error;
    if (error.code === 'CONFLICT') {
      // The same submission again: answer as the first time.
      [booking] = await db.rows.find('bookings', { where: { message_id: { _eq: inbound.id } } });
    } else if (error.code === 'BAD_USER_INPUT') {
      reply = `Sorry ${name}, I could not book that: ${error.message}`;
    } else {
      throw error;
    }
  }
  reply ??= `Thanks ${name}! Your ${service} is booked for ${date} (booking #${booking.id}).`;

  // 4. The reply, recorded like any message so the dashboard shows the whole conversation.
  await db.messages.record({
    phone,
    direction: 'outbound',
    body: reply,
    idempotencyKey: messageId ? `${messageId}:reply` : undefined,
  });
  await db.conversations.setState(inbound.conversation.id, { step: booking ? 'booked' : 'ask-again', bookingId: booking?.id ?? null });

  return { contact, booking: booking ?? null, reply };
}
