import { pageQuery } from '@hubspoke/kit';
import { z } from 'zod';
import { CHANNELS } from '../domain/channel.js';
import { TEMPLATE_NAME } from '../domain/templates.js';

const objectOnly = { error: (issue: { code: string }) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined) };

/** POST /: what to send and to whom; the address is checked for its channel once the sender's rights are known. */
export const SendBody = z.strictObject({
  channel: z.enum(CHANNELS),
  to: z.string().trim().min(1).max(4096).optional().meta({ description: 'Omitted: your own latest contact on the channel. Plain users may only name their own contacts.' }),
  template: z.string().regex(TEMPLATE_NAME, 'must be a template name (lower-case letters, digits, dashes)'),
  data: z.record(
    z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'keys are letters, digits and underscores'),
    z.union([z.string().max(2000), z.number()]),
  ).refine((data) => Object.keys(data).length <= 50, 'at most 50 values').default({})
    .meta({ description: 'A value for every {{placeholder}} of the template' }),
  idempotencyKey: z.string().regex(/^[\x21-\x7e]{1,200}$/, 'must be 1 to 200 printable characters without spaces').optional()
    .meta({ description: 'Sending again with the same key answers the same notification and sends nothing more' }),
}, objectOnly);

/** POST /contacts: a phone number or a push token of the caller's; the email contact is the account's. */
export const ContactBody = z.strictObject({
  channel: z.enum(['sms', 'push']),
  address: z.string().trim().min(1).max(4096),
}, objectOnly);

/** GET /: page size defaults to 20 and is capped at 100. */
export const PageQuery = pageQuery();

/** A malformed id is the client's mistake (400 NOTIFICATION.INVALID_ID), and never reaches the database. */
export const IdParams = z.object({ id: z.uuid().transform((id) => id.toLowerCase()) });

/** The input of a hub task `notification.send` (one recipient of a job): the same fields, keyed by (job id, item key) instead. */
export const SendTaskInput = SendBody.omit({ idempotencyKey: true });
