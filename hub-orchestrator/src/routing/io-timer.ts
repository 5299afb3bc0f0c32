/** A pending `timeoutAfterIo`. */
export interface IoTimer {
  clear: () => void;
}

/**
 * A timeout that lets I/O already waiting be read before it fires. When the event loop was held up (a long
 * collection, a core the process did not get), Node runs the timers that came due before it reads the sockets,
 * so a plain timer would call an attempt late that had in fact been answered in time, abort that answer and
 * count it against a healthy instance. This one fires from the check phase (setImmediate), after the poll phase
 * of the same turn has read what arrived meanwhile, and costs one callback more.
 */
export function timeoutAfterIo(fire: () => void, ms: number): IoTimer {
  let immediate: NodeJS.Immediate | undefined;
  const timer = setTimeout(() => {
    immediate = setImmediate(fire);
  }, ms);
  return {
    clear() {
      clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
    },
  };
}
