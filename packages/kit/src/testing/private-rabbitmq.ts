import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { freePort } from './free-port.js';
import { controlServer, launchServer, serverDir, untilReady, type ServerProcess } from './server-process.js';

const SERVER = process.env.TEST_RABBITMQ_SERVER ?? '/usr/lib/rabbitmq/bin/rabbitmq-server';
// Beside the server script; Debian's /usr/sbin wrapper would switch to the rabbitmq user and its cookie.
const CTL = join(dirname(SERVER), 'rabbitmqctl');

export interface PrivateRabbitMq {
  /** guest/guest on the default vhost: an AMQP_URL for a spawned service. */
  url: string;
  port: number;
  /** Shuts the broker down gracefully (SIGTERM): connections are closed, durable state is kept. */
  stop: () => Promise<void>;
  /** SIGKILLs the broker's VM, like a crash. */
  kill: () => Promise<void>;
  /** Starts the broker again on the same port and data (stopping it first if it runs); takes seconds, like the first start. */
  restart: () => Promise<void>;
  /** Stops the broker and deletes its data: for afterAll. */
  remove: () => Promise<void>;
  /** Runs rabbitmqctl against this node only (e.g. `set_vm_memory_high_watermark absolute 1` to block publishers). */
  ctl: (...args: string[]) => Promise<string>;
}

/**
 * A RabbitMQ node only this test uses, for outage tests that must never stop the shared broker: the machine's
 * rabbitmq-server with its own node name, ports, data, config and cookie in a temp dir (it shares the machine's epmd,
 * as every node does). Starting takes 5-15 s.
 */
export async function startPrivateRabbitMq(): Promise<PrivateRabbitMq> {
  const dir = serverDir('rabbitmq');
  const [port, distPort] = [await freePort(), await freePort()];
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\n`);
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n'); // no management plugin: its fixed port would clash
  writeFileSync(join(dir, 'rabbitmq-env.conf'), ''); // instead of the machine's, which names the shared node
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(RABBITMQ_|ERL_)/.test(name))),
    HOME: dir, // the Erlang cookie
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_NODENAME: `hs-test-${process.pid}-${randomBytes(3).toString('hex')}@localhost`,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_FLAGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    // The script then execs the VM instead of wrapping it in a shell: the PID we hold, and signal, is the broker's.
    RUNNING_UNDER_SYSTEMD: 'true',
  };
  let server: ServerProcess | undefined;

  const start = async () => {
    server = launchServer(SERVER, [], { dir, env });
    await untilReady(server, 'private RabbitMQ', () => amqp.connect(url).then((connection) => connection.close()), 60_000);
  };
  const stop = async () => {
    await server?.signal('SIGTERM');
  };

  const controls = await controlServer({ start, stop, current: () => server, dir });
  return {
    url,
    port,
    ...controls,
    ctl: async (...args) => (await promisify(execFile)(CTL, ['-n', env.RABBITMQ_NODENAME!, ...args], { env, timeout: 30_000 })).stdout,
  };
}
