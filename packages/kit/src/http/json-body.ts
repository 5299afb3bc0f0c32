import express, { type RequestHandler } from 'express';
import { AppError, badRequest } from '../errors.js';

export interface JsonBodyOptions {
  /** Largest accepted body, e.g. '100kb'. Larger → 413. */
  limit?: string | number;
  /** Deepest accepted nesting of arrays/objects. Deeper → 400 (JSON.stringify and loggers die far earlier than JSON.parse). */
  maxDepth?: number;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Parses JSON bodies and refuses what would hurt later: nesting beyond `maxDepth`, NUL characters
 * (Postgres rejects them in text and jsonb), and prototype-polluting keys. Each is a 400 with its own code.
 */
export function jsonBody({ limit = '100kb', maxDepth = 32 }: JsonBodyOptions = {}): RequestHandler {
  const raw = express.raw({ type: ['application/json', 'application/*+json'], limit });
  return (req, res, next) => {
    raw(req, res, (error?: unknown) => {
      if (error) return next(error);
      if (!Buffer.isBuffer(req.body)) {
        req.body = undefined;
        return next();
      }
      try {
        req.body = parseJsonStrict(req.body.toString('utf8'), maxDepth);
        next();
      } catch (parseError) {
        next(parseError);
      }
    });
  };
}

/** Parses text as JSON under the same rules as `jsonBody` (also used for AMQP payloads). */
export function parseJsonStrict(text: string, maxDepth = 32): unknown {
  scanJson(text, maxDepth);
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (FORBIDDEN_KEYS.has(key)) throw new ForbiddenKeyError(key);
      return value;
    });
  } catch (error) {
    if (error instanceof ForbiddenKeyError) {
      throw badRequest('REQUEST.FORBIDDEN_KEY', `The key "${error.key}" is not allowed in a request body`);
    }
    throw new AppError('REQUEST.MALFORMED_JSON', 'The request body is not valid JSON', 400, undefined, { cause: error });
  }
}

class ForbiddenKeyError extends Error {
  constructor(readonly key: string) {
    super(key);
  }
}

/** One pass over the text, outside and inside strings, before JSON.parse builds anything. */
function scanJson(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) {
        if (text.charCodeAt(i + 1) === 0x75 /* u */ && text.slice(i + 2, i + 6) === '0000') throw nulError();
        i++;
      } else if (c === 0x22 /* " */) {
        inString = false;
      } else if (c === 0) {
        throw nulError();
      }
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b /* { [ */) {
      if (++depth > maxDepth) throw badRequest('REQUEST.TOO_DEEP', `The request body is nested deeper than ${maxDepth} levels`);
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
}

function nulError() {
  return badRequest('REQUEST.NUL_CHARACTER', 'The request body contains a NUL character');
}
