import amqp from 'amqplib';
import { withPgClient } from '@hubspoke/kit/testing';

// What the handler-failure case needs: one message the user spoke cannot store, and what it left behind.

/** Makes the user database refuse a profile for `email` (a trigger), so the consumer's handler fails on that message alone. */
export async function refuseProfiles(url: string, email: string): Promise<void> {
  await withPgClient(url, async (client) => {
    await client.query(`CREATE OR REPLACE FUNCTION chaos_refuse_profile() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.email = ${client.escapeLiteral(email)} THEN RAISE EXCEPTION 'chaos: the user database refuses %', NEW.email; END IF;
        RETURN NEW;
      END $$`);
    await client.query('CREATE OR REPLACE TRIGGER chaos_refuse_profile BEFORE INSERT OR UPDATE ON profiles FOR EACH ROW EXECUTE FUNCTION chaos_refuse_profile()');
  });
}

/** How many of these users have a profile. */
export const profilesOf = (url: string, ids: string[]) => withPgClient(url, async (client) =>
  (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM profiles WHERE id = ANY($1::uuid[])', [ids])).rows[0]!.n);

/** The dead letter of message `id` (taken off the queue), with the attempts and error the consumer wrote in its headers. */
export async function deadLetterOf(url: string, queue: string, id: string): Promise<{ attempts: number; error: string } | undefined> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    for (let message = await channel.get(queue, { noAck: true }); message; message = await channel.get(queue, { noAck: true })) {
      if (message.properties.messageId !== id) continue;
      const headers = message.properties.headers ?? {};
      return { attempts: Number(headers['x-attempts']), error: String(headers['x-last-error']) };
    }
    return undefined;
  } finally {
    await connection.close();
  }
}
