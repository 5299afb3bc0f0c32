import type { z } from 'zod';
import { describeIssues } from '../http/parse-input.js';
import { InvalidEnvelopeError, type Envelope } from './envelope.js';

/**
 * A consumer's reading of an event payload. A payload that does not match can never succeed on a retry,
 * so it throws InvalidEnvelopeError: the bus dead-letters it at the first attempt.
 */
export function parsePayload<T extends z.ZodType>(schema: T, envelope: Pick<Envelope, 'type' | 'version' | 'payload'>): z.output<T> {
  const result = schema.safeParse(envelope.payload);
  if (result.success) return result.data;
  throw new InvalidEnvelopeError(`${envelope.type} v${envelope.version} payload is invalid: ${describeIssues(result.error)}`);
}
