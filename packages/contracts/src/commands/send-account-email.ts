import { defineCommand } from '@hubspoke/kit';
import { z } from 'zod';

const recipient = {
  userId: z.uuid(),
  /** Normalised (trimmed, lower-case) by the producer; the address the email goes to. */
  email: z.email().max(254),
  name: z.string().min(1).max(100),
};
/** A link with a one-time token: a secret (see `notification.send_account_email` in docs/events.md). */
const link = { link: z.url({ protocol: /^https?$/ }).max(2048), expiresInMinutes: z.int().min(1).max(100_000) };

/**
 * The auth spoke asks the notification spoke to email an account's owner: a link to verify the address,
 * a link to reset the password, or word that the password changed. A command, on the `tasks` exchange:
 * the links are secrets, so no subscriber of the events exchange may ever receive one.
 */
export const SendAccountEmailV1 = defineCommand('notification.send_account_email', 1, z.discriminatedUnion('template', [
  z.object({ template: z.literal('verify-email'), ...recipient, ...link }),
  z.object({ template: z.literal('password-reset'), ...recipient, ...link }),
  z.object({ template: z.literal('password-changed'), ...recipient }),
]), { producer: 'auth', userFields: ['userId'] });

export type SendAccountEmailV1Payload = z.output<typeof SendAccountEmailV1.payload>;
