import type { InstanceRecord } from '@hubspoke/kit';
import { acceptsConnections } from './address-probe.js';
import { createBreaker, type Breaker, type BreakerOptions, type BreakerState } from './breaker.js';
import { forwardTarget, type ForwardTarget } from './forward.js';

export interface UpstreamOptions {
  breaker: BreakerOptions;
  /** Limit of the connect phase, for requests and for the address probe alike. */
  connectTimeoutMs: number;
  /** How often an instance out of routing for a connect failure is checked again. */
  probeIntervalMs: number;
  /** Outstanding requests per instance beyond which the hub sheds load; also the pool's socket limit. */
  maxOutstanding: number;
}

/** One spoke instance as the hub sees it: its record, its connection pool, its load and its health. */
export interface Upstream {
  readonly key: string;
  record: InstanceRecord;
  /** Its address parsed once, with the pool (the url is part of the key: a new url is a new upstream). */
  readonly target: ForwardTarget;
  readonly breaker: Breaker;
  inFlight: number;
  /** Left the registry: no new requests; the pool closes when the last in-flight one ends. */
  retired: boolean;
  /** False from a connect failure, or while the breaker is open, until the address accepts a connection again. */
  reachable: boolean;
  /** When a response from it last started (ms since epoch): an instance answering others is busy, not hung. */
  lastAnswerAt: number;
  /** It answered 503 with Retry-After: until then (ms since epoch) other instances are preferred, this one still used if all are. */
  deferUntil: number;
  /** Out of routing at once, until its address accepts a connection (or a new registration replaces it). */
  eject: () => void;
}

export type BreakerListener = (upstream: Upstream, from: BreakerState, to: BreakerState) => void;

export const upstreamKey = (record: InstanceRecord) => `${record.service}/${record.instanceId}@${record.url}`;

export function createUpstream(record: InstanceRecord, options: UpstreamOptions, onBreaker: BreakerListener): Upstream {
  let check: NodeJS.Timeout | undefined;
  const checkAddressAfter = (ms: number) => {
    clearTimeout(check);
    check = setTimeout(() => void (async () => {
      if (upstream.retired) return;
      if (await acceptsConnections(upstream.record.url, options.connectTimeoutMs)) upstream.reachable = true;
      else checkAddressAfter(options.probeIntervalMs);
    })(), ms);
    check.unref();
  };

  const upstream: Upstream = {
    key: upstreamKey(record),
    record,
    // Without keep-alive every proxied request opens a connection (≈ 2–3× slower, measured: docs/ARCHITECTURE.md, "Traps").
    target: forwardTarget(record.url, { connections: options.maxOutstanding, connectTimeoutMs: options.connectTimeoutMs }),
    breaker: createBreaker(options.breaker, (from, to) => {
      // The probe after the cool-down is real traffic: it goes only to an address shown to accept connections by then.
      if (to === 'open') {
        upstream.reachable = false;
        checkAddressAfter(options.breaker.coolDownMs);
      }
      onBreaker(upstream, from, to);
    }),
    inFlight: 0,
    retired: false,
    reachable: true,
    lastAnswerAt: 0,
    deferUntil: 0,
    eject() {
      if (!upstream.reachable) return;
      upstream.reachable = false;
      checkAddressAfter(options.probeIntervalMs);
    },
  };
  return upstream;
}

export function acquire(upstream: Upstream): void {
  upstream.inFlight++;
  upstream.breaker.onPicked();
}

export function release(upstream: Upstream): void {
  upstream.inFlight--;
  if (upstream.retired && upstream.inFlight === 0) closePool(upstream);
}

export function retire(upstream: Upstream): void {
  upstream.retired = true;
  if (upstream.inFlight === 0) closePool(upstream);
}

function closePool(upstream: Upstream): void {
  upstream.target.pool.destroy().catch(() => undefined);
}
