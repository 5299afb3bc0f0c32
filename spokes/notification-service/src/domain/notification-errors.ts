import { badRequest, conflict, forbidden, notFound } from '@hubspoke/kit';

// One answer for "does not exist" and "not yours", so ids can't be probed.
export const notificationNotFound = () => notFound('NOTIFICATION.NOT_FOUND', 'No such notification');
export const contactNotFound = () => notFound('NOTIFICATION.CONTACT_NOT_FOUND', 'No such contact');
export const invalidId = () => badRequest('NOTIFICATION.INVALID_ID', 'An id is a UUID');
export const invalidCursor = () => badRequest('NOTIFICATION.INVALID_CURSOR', 'The cursor is not one this service issued');
export const unknownTemplate = (name = '…') => badRequest('NOTIFICATION.UNKNOWN_TEMPLATE', `No template named ${name}`);
export const missingTemplateData = (missing: string[] = []) =>
  badRequest('NOTIFICATION.TEMPLATE_DATA_MISSING', `The template needs ${missing.join(', ') || 'more data'}`, { missing });
export const noContact = (channel = '…') => badRequest('NOTIFICATION.NO_CONTACT', `You have no ${channel} contact to send to`);
export const invalidAddress = (problem = 'is not valid') => badRequest('NOTIFICATION.INVALID_ADDRESS', `The address ${problem}`);
export const recipientForbidden = () => forbidden('NOTIFICATION.RECIPIENT_FORBIDDEN', 'You may only send to your own contacts');
export const idempotencyKeyReused = () =>
  conflict('NOTIFICATION.IDEMPOTENCY_KEY_REUSED', 'This idempotency key was already used for a different notification');
export const tooManyContacts = () => badRequest('NOTIFICATION.TOO_MANY_CONTACTS', 'You have too many contacts; remove one first');
