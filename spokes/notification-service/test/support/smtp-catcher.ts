import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  from: string;
  to: string[];
  subject: string;
  messageId: string;
  raw: string;
  /** When its DATA was read, ms (performance.now()). */
  at: number;
  /** The text/plain part, decoded (quoted-printable or base64): what a reader sees. */
  text: string;
}

export interface SmtpCatcher {
  port: number;
  messages: CaughtMail[];
  /** Resolves once `count` messages have arrived (a message counts as soon as its DATA is read, before the reply). */
  waitForCount: (count: number) => Promise<void>;
  close: () => Promise<void>;
}

export interface CatcherOptions {
  /** Answers RCPT TO with this error (e.g. 550) for addresses it matches. */
  refuse?: (address: string) => { code: number; message: string } | undefined;
  /** Awaited after a message is read and before the server answers it: a test kills the sender meanwhile. */
  beforeReply?: (mail: CaughtMail) => Promise<void>;
}

/** A real SMTP server on a free loopback port (the smtp-server package), keeping every message it is handed. */
export async function startSmtpCatcher(options: CatcherOptions = {}): Promise<SmtpCatcher> {
  const messages: CaughtMail[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const refused = options.refuse?.(address.address);
      if (!refused) return callback();
      return callback(Object.assign(new Error(refused.message), { responseCode: refused.code }));
    },
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
      stream.on('end', () => {
        const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(raw)?.[1]?.trim() ?? '';
        const mail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address), subject: header('Subject'), messageId: header('Message-ID'), raw, at: performance.now(), text: textPart(raw),
        };
        messages.push(mail);
        for (const waiter of waiters.filter((w) => messages.length >= w.count)) waiter.resolve();
        void (options.beforeReply?.(mail) ?? Promise.resolve()).then(() => callback());
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    messages,
    waitForCount: (count) => (messages.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The decoded text/plain part of a MIME message nodemailer built (or the whole body of a single-part one). */
function textPart(raw: string): string {
  const parts = raw.split(/\r?\n--[^\r\n]+\r?\n/);
  const part = parts.find((p) => /^content-type: text\/plain/im.test(p)) ?? raw;
  const split = /\r?\n\r?\n/.exec(part);
  const [headers, body] = split ? [part.slice(0, split.index), part.slice(split.index + split[0].length)] : ['', part];
  const encoding = /^content-transfer-encoding: *(\S+)/im.exec(headers)?.[1]?.toLowerCase();
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding !== 'quoted-printable') return body;
  const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}
