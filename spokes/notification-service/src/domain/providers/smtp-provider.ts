import nodemailer from 'nodemailer';
import type { NotificationConfig } from '../../config.js';
import { ProviderError, type Provider } from './provider.js';

/**
 * Email over SMTP through one pooled nodemailer transport: up to `maxConnections` kept-open connections,
 * STARTTLS when offered (required with `requireTls`), TLS 1.2 at least, and bounded waits for the TCP
 * connect, the greeting and each socket read. The Message-ID is derived from the notification id, so a
 * mailbox or a human can tell two copies of one notification apart from two notifications.
 */
export function smtpProvider(smtp: NotificationConfig['smtp']): Provider {
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: smtp.maxConnections,
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.requireTls,
    tls: { rejectUnauthorized: smtp.rejectUnauthorized, minVersion: 'TLSv1.2' },
    auth: smtp.auth,
    connectionTimeout: smtp.connectionTimeoutMs,
    greetingTimeout: smtp.connectionTimeoutMs,
    socketTimeout: smtp.socketTimeoutMs,
  });
  return {
    name: 'smtp',
    async send({ notificationId, to, subject, text, html }) {
      try {
        const info = await transport.sendMail({ from: smtp.from, to, subject, text, html, messageId: `<${notificationId}@notification.hubspoke>` });
        return { answer: String(info.response) };
      } catch (error) {
        throw classify(error as SmtpError);
      }
    },
    close: () => transport.close(),
  };
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

/** A 5xx reply or an address the server refuses is final; a 4xx reply or a connection problem may pass later. */
function classify(error: SmtpError): ProviderError {
  const answer = error.response;
  if (error.responseCode !== undefined) {
    return new ProviderError(error.responseCode >= 500 ? 'permanent' : 'transient', `SMTP ${error.responseCode}: ${error.message}`, answer);
  }
  const permanent = error.code === 'EENVELOPE' || error.code === 'EMESSAGE';
  return new ProviderError(permanent ? 'permanent' : 'transient', `${error.code ?? 'SMTP'}: ${error.message}`, answer);
}
