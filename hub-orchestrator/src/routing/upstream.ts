import { Agent } from 'node:http';
import { UPSTREAM_IDLE_TIMEOUT_MS, type InstanceRecord } from '@hubspoke/kit';
import { createBreaker, type Breaker, type BreakerOptions, type BreakerState } from './breaker.js';

/** One spoke instance as the hub sees it: its record, its connection pool, its load and its health. */
export interface Upstream {
  readonly key: string;
  record: InstanceRecord;
  readonly agent: Agent;
  readonly breaker: Breaker;
  inFlight: number;
  /** Left the registry: no new requests; the pool closes when the last in-flight one ends. */
  retired: boolean;
}

export type BreakerListener = (upstream: Upstream, from: BreakerState, to: BreakerState) => void;

export const upstreamKey = (record: InstanceRecord) => `${record.service}/${record.instanceId}@${record.url}`;

export function createUpstream(record: InstanceRecord, breakerOptions: BreakerOptions, onBreaker: BreakerListener): Upstream {
  const upstream: Upstream = {
    key: upstreamKey(record),
    record,
    // Without keep-alive every proxied request opens a connection (≈ 2–3× slower, measured: docs/ARCHITECTURE.md, "Traps"). Idle
    // sockets close before the spoke's keepAliveTimeout, so a reused socket never races the server's close.
    agent: new Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 256, timeout: UPSTREAM_IDLE_TIMEOUT_MS, scheduling: 'lifo' }),
    breaker: createBreaker(breakerOptions, (from, to) => onBreaker(upstream, from, to)),
    inFlight: 0,
    retired: false,
  };
  return upstream;
}

export function acquire(upstream: Upstream): void {
  upstream.inFlight++;
  upstream.breaker.onPicked();
}

export function release(upstream: Upstream): void {
  upstream.inFlight--;
  if (upstream.retired && upstream.inFlight === 0) upstream.agent.destroy();
}

export function retire(upstream: Upstream): void {
  upstream.retired = true;
  if (upstream.inFlight === 0) upstream.agent.destroy();
}
