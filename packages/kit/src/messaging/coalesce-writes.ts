import { Socket } from 'node:net';
import type { ChannelModel } from 'amqplib';

interface AmqplibInternals {
  connection?: { stream?: unknown; muxer?: { _readIncoming?: () => void } };
}

/**
 * amqplib queues every outgoing frame (a publish, an ack) and writes what is queued in one loop of its muxer,
 * but each frame with its own socket write: one syscall per message, the largest CPU cost of a busy relay or
 * consumer on loopback. Corking the socket for that loop sends it all in one writev; back pressure is kept
 * (a write past the high-water mark still says stop). Returns false, changing nothing, when amqplib's
 * internals are not the ones this knows (frames then go out one write each, as before).
 */
export function coalesceWrites(model: ChannelModel): boolean {
  const connection = (model as unknown as AmqplibInternals).connection;
  const muxer = connection?.muxer;
  const socket = connection?.stream;
  if (typeof muxer?._readIncoming !== 'function' || !(socket instanceof Socket)) return false;
  const readIncoming = muxer._readIncoming.bind(muxer);
  muxer._readIncoming = () => {
    socket.cork();
    try {
      readIncoming();
    } finally {
      socket.uncork();
    }
  };
  return true;
}
