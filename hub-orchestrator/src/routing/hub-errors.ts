import { AppError, serviceUnavailable } from '@hubspoke/kit';

/** The hub's own answers when it cannot reach a spoke: always the kit's error shape, never the proxy library's. */
export const noInstance = (service: string, retryAfterSeconds = 1) =>
  serviceUnavailable('HUB.NO_INSTANCE', `No instance of ${service} is available`, retryAfterSeconds);

export const upstreamUnreachable = (service: string, cause: unknown) =>
  new AppError('HUB.UPSTREAM_UNREACHABLE', `${service} could not be reached`, 502, undefined, { cause });

export const upstreamTimeout = (service: string, timeoutMs: number) =>
  new AppError('HUB.UPSTREAM_TIMEOUT', `${service} did not answer within ${timeoutMs} ms`, 504);

/** Every instance has as many requests outstanding as it may: refused at once rather than queued. */
export const overloaded = (service: string) =>
  serviceUnavailable('HUB.OVERLOADED', `${service} is at capacity, try again shortly`, 1);
