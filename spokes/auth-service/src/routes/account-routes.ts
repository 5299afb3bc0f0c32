import { defineRoute, requireAuth, type ApiRoute } from '@hubspoke/kit';
import {
  accountClosed, emailAlreadyVerified, linkExpired, linkInvalid, linkUsed, tooManyEmails,
} from '../domain/auth-errors.js';
import type { EmailVerification } from '../domain/email-verification.js';
import type { PasswordReset } from '../domain/password-reset.js';
import { EmailVerified, ForgotPasswordBody, ResetPasswordBody, ResetRequested, VerificationSent, VerifyEmailBody } from './auth-schemas.js';

const tags = ['account'];
const linkErrors = [linkInvalid, linkExpired, linkUsed];
const RESET_REQUESTED = { message: 'If an account has this email address, a link to reset its password is on its way' };

/** The flows that go through an emailed link: verify the address, reset a forgotten password. */
export function accountRoutes({ verification, passwordReset }: { verification: EmailVerification; passwordReset: PasswordReset }): ApiRoute[] {
  return [
    defineRoute({
      method: 'post', path: '/email/verify', public: true, tags, summary: 'Verify the account email with the token of the emailed link',
      description: 'Single use. Access tokens issued after this (login, refresh) carry `email_verified: true`.',
      request: { body: VerifyEmailBody },
      response: { description: 'The address is verified', body: EmailVerified },
      errors: linkErrors,
      handler: ({ body }) => verification.verify(body.token),
    }),
    defineRoute({
      method: 'post', path: '/email/verify/request', tags, summary: 'Email a new verification link to the caller\'s address',
      description: 'The newest link replaces the earlier ones. At most one per account per `ACCOUNT_EMAIL_INTERVAL`.',
      response: { status: 202, description: 'The link is on its way', body: VerificationSent },
      errors: [emailAlreadyVerified, () => tooManyEmails(60), accountClosed],
      handler: (_input, req) => verification.resend(requireAuth(req).userId),
    }),
    defineRoute({
      method: 'post', path: '/password/forgot', public: true, tags, summary: 'Email a password reset link, if an account has the address',
      description: 'The same answer, in the same time, whether or not an account has the address. The newest link replaces the earlier ones.',
      request: { body: ForgotPasswordBody },
      response: { status: 202, description: 'Accepted, whatever the address', body: ResetRequested },
      handler: ({ body }) => {
        passwordReset.forgot(body.email);
        return RESET_REQUESTED;
      },
    }),
    defineRoute({
      method: 'post', path: '/password/reset', public: true, tags, summary: 'Set a new password with the token of the emailed link',
      description: 'Single use. Ends every session of the account (refresh tokens refused) and emails its owner that the password changed.',
      request: { body: ResetPasswordBody },
      response: { status: 204, description: 'The password is changed; sign in with it' },
      errors: linkErrors,
      handler: ({ body }) => passwordReset.reset(body.token, body.password),
    }),
  ];
}
