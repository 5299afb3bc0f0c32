import { badRequest } from '@hubspoke/kit';

export const invalidCursor = () => badRequest('ANALYTICS.INVALID_CURSOR', 'The cursor is not one this service issued');
export const invalidRange = () => badRequest('ANALYTICS.INVALID_RANGE', '`from` must be before `to`');
export const rangeTooLarge = (maxBuckets = 0, interval = 'day') =>
  badRequest('ANALYTICS.RANGE_TOO_LARGE', `The range holds more than ${maxBuckets} ${interval} buckets`, { maxBuckets, interval });
export const rangeNotRetained = (oldest = '') =>
  badRequest('ANALYTICS.RANGE_NOT_RETAINED', `Events and minute counts are kept from ${oldest || 'the retention\'s first day'} on`, { oldest });
