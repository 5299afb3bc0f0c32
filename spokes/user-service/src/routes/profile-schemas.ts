import { z } from 'zod';

/** A profile as the API shows it; email and name are null until the auth spoke tells this one. */
export const ProfileBody = z.object({
  id: z.uuid(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  bio: z.string().nullable(),
  avatarKey: z.string().nullable(),
  preferences: z.record(z.string(), z.unknown().meta({ description: 'Any JSON value' })),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
}).meta({ id: 'Profile' });

export const ProfilePageBody = z.object({
  items: z.array(ProfileBody),
  nextCursor: z.string().nullable().meta({ description: 'Pass back as `cursor` for the next page; null on the last one' }),
}).meta({ id: 'ProfilePage' });
