import { badRequest, notFound } from '@hubspoke/kit';

// One answer for "does not exist" and "not yours", so ids can't be probed.
export const itemNotFound = () => notFound('NOTIFICATION.ITEM_NOT_FOUND', 'No such item');
export const invalidItemId = () => badRequest('NOTIFICATION.INVALID_ID', 'An item id is a UUID');
export const invalidCursor = () => badRequest('NOTIFICATION.INVALID_CURSOR', 'The cursor is not one this service issued');
