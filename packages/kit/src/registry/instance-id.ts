import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Host name plus a random suffix: unique per process even when `--scale` replicas share an image. A
 * service takes one at start; its log lines, its registry record and its Prometheus target all carry it.
 */
export function newInstanceId(): string {
  const host = hostname().replace(/[^A-Za-z0-9.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63);
  return `${host || 'instance'}-${randomBytes(4).toString('hex')}`;
}
