import { z } from 'zod';

export const CHANNELS = ['email', 'sms', 'push'] as const;
export type Channel = (typeof CHANNELS)[number];

/** What a valid address is on each channel: checked when a contact is saved and when an admin names one. */
export const ADDRESS_SCHEMAS: Record<Channel, z.ZodType<string, string>> = {
  email: z.email().max(254),
  // E.164: a plus, then up to 15 digits.
  sms: z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 phone number (+ and 7 to 15 digits)'),
  // FCM / APNs tokens: opaque, printable, no spaces.
  push: z.string().regex(/^[A-Za-z0-9:_\-.]{16,4096}$/, 'must be a device token (16 to 4096 letters, digits, : _ - .)'),
};

/** Addresses compare case-insensitively only for email (the auth spoke lower-cases it too). */
export function normalizeAddress(channel: Channel, address: string): string {
  return channel === 'email' ? address.trim().toLowerCase() : address.trim();
}
