import { badRequest, notFound } from '@hubspoke/kit';

// One answer for "does not exist", "deleted" and "not yours", so ids can't be probed.
export const userNotFound = () => notFound('USER.NOT_FOUND', 'No such user');
export const invalidUserId = () => badRequest('USER.INVALID_ID', 'A user id is a UUID');
export const invalidCursor = () => badRequest('USER.INVALID_CURSOR', 'The cursor is not one this service issued');
