import { TASK_RESULT_ROUTING_KEY } from '../tasks/protocol.js';
import { eventsExchange, resultsExchange, tasksExchange } from './topology.js';

/**
 * What one service's RabbitMQ user may do, as the broker's permissions spell it: `configure`, `write` and `read` are
 * regexes over exchange and queue names; topic permissions are regexes over routing keys, per topic exchange.
 */
export interface BrokerAccess {
  user: string;
  /** `management` lets the hub list dead-letter queues through the management API. */
  tags: string[];
  configure: string;
  write: string;
  read: string;
  topic: { exchange: string; write: string; read: string }[];
}

export interface BrokerAccessSpec {
  /** The service's name: its queues are `<service>.*` (topology.ts), its broker user has the same name. */
  service: string;
  /**
   * `spoke`: publishes only the events it produces and task results, reads events and tasks.
   * `hub`: dispatches tasks, reads results, and replays any service's dead letters where they were first published.
   */
  role: 'hub' | 'spoke';
  /** Routing keys (`user.deleted.v1`) of the events this service produces: the only ones it may publish. */
  produces: string[];
  /** Routing keys of the commands it sends another service on `tasks` (`notification.send_account_email.v1`). */
  commands?: string[];
  prefix?: string;
}

const ANY = '.*';
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const exactly = (names: string[]) => `^(${names.map(escape).join('|')})$`;

/**
 * Least privilege per service. Only the service configures its own queues and requeue exchange; the shared exchanges
 * come from the broker's definitions. Nobody but the hub writes to `tasks` except under the routing keys of the commands
 * a spoke's contracts name it producer of, and nobody may publish to the default exchange (it reaches every queue by
 * name): a spoke publishes events only under the routing keys it produces.
 */
export function brokerAccess({ service, role, produces, commands = [], prefix = '' }: BrokerAccessSpec): BrokerAccess {
  const own = `${prefix ? `${escape(prefix)}\\.` : ''}${escape(service)}\\.`;
  const [events, tasks, results] = [eventsExchange(prefix), tasksExchange(prefix), resultsExchange(prefix)];
  const names = (exchanges: string[], extra: string[] = []) => `^(${[`${own}.*`, ...exchanges.map(escape), ...extra].join('|')})$`;
  if (role === 'hub') {
    // Replaying a dead letter republishes it to its original exchange and routing key, whichever service it came from.
    return {
      user: service, tags: ['management'],
      configure: `^${own}`,
      write: names([events, tasks, results]),
      read: names([results], [`${prefix ? `${escape(prefix)}\\.` : ''}.*\\.dlq`]),
      topic: [events, tasks, results].map((exchange) => ({ exchange, write: ANY, read: ANY })),
    };
  }
  const publishes = produces.length > 0;
  const sendsCommands = commands.length > 0;
  return {
    user: service, tags: [],
    configure: `^${own}`,
    write: names([...(publishes ? [events] : []), ...(sendsCommands ? [tasks] : []), results]),
    read: names([events, tasks]),
    topic: [
      ...(publishes ? [{ exchange: events, write: exactly(produces), read: ANY }] : []),
      // A command (e.g. auth's account emails) goes to one service's queue on `tasks`: only its own routing keys.
      ...(sendsCommands ? [{ exchange: tasks, write: exactly(commands), read: ANY }] : []),
      { exchange: results, write: exactly([TASK_RESULT_ROUTING_KEY]), read: ANY },
    ],
  };
}
