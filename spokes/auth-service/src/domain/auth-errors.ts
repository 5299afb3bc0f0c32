import { AppError, badRequest, conflict, serviceUnavailable, tooManyRequests, unauthorized } from '@hubspoke/kit';

export const emailTaken = () => conflict('AUTH.EMAIL_TAKEN', 'Email is already registered');
/** One answer for an unknown email, a wrong password and a disabled account, so none can be told apart. */
export const invalidCredentials = () => unauthorized('AUTH.INVALID_CREDENTIALS', 'Email or password is incorrect');
export const loginThrottled = (retryAfterSeconds: number) =>
  tooManyRequests('AUTH.TOO_MANY_FAILED_LOGINS', retryAfterSeconds, 'Too many failed logins, try again later');
export const refreshInvalid = () => unauthorized('AUTH.REFRESH_INVALID', 'The refresh token is invalid');
export const refreshExpired = () => unauthorized('AUTH.REFRESH_EXPIRED', 'The refresh token has expired');
export const revocationUnavailable = () =>
  serviceUnavailable('AUTH.REVOCATION_UNAVAILABLE', 'The session cannot be ended right now, try again shortly', 5);
export const refreshReused = () =>
  unauthorized('AUTH.REFRESH_REUSED', 'The refresh token was already used; every session from that login has been ended');
export const signingKeysMissing = (cause?: unknown) =>
  new AppError('AUTH.SIGNING_KEYS_MISSING', 'No signing key is available', 500, undefined, { cause });

// Emailed links: a changed, unknown or superseded token is invalid; the answers never echo the token.
export const linkInvalid = () =>
  badRequest('AUTH.LINK_INVALID', 'This link is not valid: it is incomplete, was replaced by a newer one, or its account has changed');
export const linkExpired = () => badRequest('AUTH.LINK_EXPIRED', 'This link has expired; ask for a new one');
export const linkUsed = () => badRequest('AUTH.LINK_USED', 'This link was already used');
export const emailAlreadyVerified = () => conflict('AUTH.EMAIL_ALREADY_VERIFIED', 'The email address is already verified');
export const tooManyEmails = (retryAfterSeconds: number) =>
  tooManyRequests('AUTH.TOO_MANY_EMAILS', retryAfterSeconds, 'A link was sent moments ago; try again later');
export const accountClosed = () => unauthorized('AUTH.ACCOUNT_CLOSED', 'This account is closed');
