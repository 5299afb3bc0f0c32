import { parseInput } from '@hubspoke/kit';
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import type { Accounts } from '../domain/accounts.js';
import type { Sessions } from '../domain/sessions.js';

const email = z.string().trim().toLowerCase().max(254).pipe(z.email());
// The upper bound keeps argon2 work per request bounded.
const password = z.string().min(12, 'must be at least 12 characters').max(256, 'must be at most 256 characters');

const RegisterBody = z.strictObject({ email, password, name: z.string().trim().min(1).max(100) });
const LoginBody = z.strictObject({ email: z.string().trim().toLowerCase().min(1).max(254), password: z.string().min(1).max(256) });
const RefreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });

/** Routes after the hub strips `/api/auth`. */
export function authRoutes({ accounts, sessions }: { accounts: Accounts; sessions: Sessions }): Router {
  const router = express.Router();

  router.post('/register', async (req, res) => {
    res.status(201).json(await accounts.register(parseInput(RegisterBody, req.body)));
  });

  router.post('/login', async (req, res) => {
    res.json(await accounts.login(parseInput(LoginBody, req.body), clientIp(req)));
  });

  router.post('/refresh', async (req, res) => {
    res.json(await sessions.refresh(parseInput(RefreshBody, req.body).refreshToken));
  });

  router.post('/logout', async (req, res) => {
    await sessions.logout(parseInput(RefreshBody, req.body).refreshToken);
    res.status(204).end();
  });

  return router;
}

/** `req.ip` honours exactly the configured proxy hops (`trust proxy`); IPv4-mapped IPv6 counts as IPv4. */
function clientIp(req: Request): string {
  return (req.ip ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}
