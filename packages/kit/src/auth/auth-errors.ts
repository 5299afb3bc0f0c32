import { AppError, serviceUnavailable } from '../errors.js';

// The codes are the whole story a client gets: why a token failed stays in `cause`, which reaches the log only.
const challenge = (error?: string) => ({ 'www-authenticate': error ? `Bearer error="${error}"` : 'Bearer' });

export const tokenMissing = () =>
  new AppError('AUTH.TOKEN_MISSING', 'Authentication required', 401, undefined, { headers: challenge() });
export const tokenInvalid = (cause?: unknown) =>
  new AppError('AUTH.TOKEN_INVALID', 'The access token is invalid', 401, undefined, { cause, headers: challenge('invalid_token') });
export const tokenExpired = (cause?: unknown) =>
  new AppError('AUTH.TOKEN_EXPIRED', 'The access token has expired', 401, undefined, { cause, headers: challenge('invalid_token') });
/** Not the token's fault: the key set could not be loaded, so the token can be neither accepted nor refused. */
export const signingKeysUnavailable = () =>
  serviceUnavailable('AUTH.KEYS_UNAVAILABLE', 'Token signing keys are unavailable, try again shortly', 5);
/** A token that verifies but was revoked (logout, account deleted): as final as an invalid one. */
export const tokenRevoked = () =>
  new AppError('AUTH.TOKEN_REVOKED', 'The access token has been revoked', 401, undefined, { headers: challenge('invalid_token') });
