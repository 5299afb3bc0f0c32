import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { assertOutboundAddress, OutboundAddressError, outboundLookup, signBody, type OutboundPolicy } from '@hubspoke/kit';
import { ProviderError, type Provider } from './provider.js';

export interface WebhookOptions {
  url: string;
  /** HMAC key: the receiver checks `X-Hubspoke-Signature` (kit `verifyBodySignature`). */
  secret: string;
  timeoutMs: number;
  policy: OutboundPolicy;
}

const ANSWER_LIMIT = 512;

/**
 * SMS or push through an HTTP provider (or a relay of one's own): a signed JSON POST per message. The
 * target is checked on every connection (`outboundLookup`: a name that resolves to a private, loopback or
 * metadata address is refused before connecting), redirects are not followed, and the whole exchange has
 * `timeoutMs`. `Idempotency-Key` is the notification id, so a receiver that keeps them drops a copy.
 */
export function webhookProvider({ url, secret, timeoutMs, policy }: WebhookOptions): Provider {
  const target = new URL(url);
  const lookup = outboundLookup(policy);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return {
    name: 'webhook',
    async send({ notificationId, channel, to, subject, text }) {
      const body = JSON.stringify({ id: notificationId, channel, to, subject, text });
      try {
        // An IP literal never reaches `lookup`: it is checked here.
        const host = target.hostname.replace(/^\[|\]$/g, '');
        if (isIP(host)) assertOutboundAddress(host, host, policy);
        const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = request(target, {
            method: 'POST', lookup, signal: AbortSignal.timeout(timeoutMs),
            headers: {
              'content-type': 'application/json', 'content-length': Buffer.byteLength(body),
              'x-hubspoke-signature': signBody(secret, body), 'idempotency-key': notificationId,
            },
          }, (response) => readAnswer(response).then(resolve, reject));
          req.on('error', reject);
          req.end(body);
        });
        const answer = `HTTP ${res.status}${res.text ? `: ${res.text}` : ''}`;
        if (res.status >= 200 && res.status < 300) return { answer };
        const transient = res.status === 408 || res.status === 429 || res.status >= 500;
        throw new ProviderError(transient ? 'transient' : 'permanent', `webhook answered ${res.status}`, answer);
      } catch (error) {
        if (error instanceof ProviderError) throw error;
        if (error instanceof OutboundAddressError) throw new ProviderError('permanent', error.message);
        const name = (error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError' ? 'timeout' : (error as NodeJS.ErrnoException).code ?? 'error';
        throw new ProviderError('transient', `webhook ${name}: ${(error as Error).message}`);
      }
    },
  };
}

async function readAnswer(response: IncomingMessage): Promise<{ status: number; text: string }> {
  let text = '';
  for await (const chunk of response) if (text.length < ANSWER_LIMIT) text += String(chunk);
  return { status: response.statusCode ?? 0, text: text.slice(0, ANSWER_LIMIT).trim() };
}
