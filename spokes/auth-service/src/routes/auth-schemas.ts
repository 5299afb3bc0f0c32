import { z } from 'zod';

const email = z.string().trim().toLowerCase().max(254).pipe(z.email());
// The upper bound keeps argon2 work per request bounded.
const password = z.string().min(12, 'must be at least 12 characters').max(256, 'must be at most 256 characters');

export const RegisterBody = z.strictObject({ email, password, name: z.string().trim().min(1).max(100) });
export const LoginBody = z.strictObject({ email: z.string().trim().toLowerCase().min(1).max(254), password: z.string().min(1).max(256) });
export const RefreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });

// The token from an emailed link (its fragment); its shape is checked by the flow, as "invalid link".
const linkToken = z.string().min(1).max(512).meta({ description: 'The `token` from the fragment of the emailed link' });
export const VerifyEmailBody = z.strictObject({ token: linkToken });
export const ForgotPasswordBody = z.strictObject({ email });
export const ResetPasswordBody = z.strictObject({ token: linkToken, password });

export const EmailVerified = z.object({ email: z.string(), emailVerified: z.literal(true) }).meta({ id: 'EmailVerified' });
export const VerificationSent = z.object({ email: z.string().meta({ description: 'Where the link went: the account\'s address' }) }).meta({ id: 'VerificationSent' });
/** The same body whether or not an account has the email. */
export const ResetRequested = z.object({ message: z.string() }).meta({ id: 'ResetRequested' });

/** What clients see of an account: never the hash. */
export const PublicUser = z.object({
  id: z.uuid(), email: z.string(), name: z.string(), role: z.enum(['user', 'admin']),
  emailVerified: z.boolean().meta({ description: 'The current address was proven by following an emailed link' }),
}).meta({ id: 'AuthUser' });

export const TokenPair = z.object({
  accessToken: z.string().meta({ description: 'A JWT to send as `Authorization: Bearer <token>`' }),
  refreshToken: z.string().meta({ description: 'Single use: each refresh returns a new one' }),
  expiresIn: z.int().positive().meta({ description: 'Seconds until the access token expires' }),
}).meta({ id: 'TokenPair' });

export const SignedIn = TokenPair.extend({ user: PublicUser }).meta({ id: 'SignedIn' });

/** The public half of each signing key (RFC 7517); fields beyond these depend on the key type. */
export const JsonWebKeySet = z.object({
  keys: z.array(z.looseObject({ kty: z.string(), kid: z.string(), alg: z.string().optional(), use: z.string().optional() })),
}).meta({ id: 'JsonWebKeySet' });
