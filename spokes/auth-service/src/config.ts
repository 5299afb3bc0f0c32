import { envReader, readAmqpEnv, readInstanceEnv, readPostgresEnv } from '@hubspoke/kit';

const PLACEHOLDER_PREFIX = 'changeme-';

/** Every variable the auth spoke reads; nothing else in the service knows their names. */
export function loadConfig(env: NodeJS.ProcessEnv) {
  const read = envReader(env);
  const config = {
    ...readInstanceEnv(read, { port: 3001 }),
    ...readPostgresEnv(read),
    ...readAmqpEnv(read),
    // Proxies in front of this spoke that append to X-Forwarded-For: the gateway and the hub.
    trustProxyHops: read.int('TRUSTED_PROXY_HOPS', 2, { max: 10 }),
    tokens: {
      issuer: read.string('AUTH_ISSUER', 'hubspoke-auth'),
      audience: read.string('AUTH_AUDIENCE', 'hubspoke'),
      accessTokenTtlMs: read.durationMs('ACCESS_TOKEN_TTL', 15 * 60_000),
      refreshTokenTtlMs: read.durationMs('REFRESH_TOKEN_TTL', 30 * 24 * 3_600_000),
      refreshGraceMs: read.durationMs('REFRESH_REUSE_GRACE', 10_000),
    },
    keys: {
      /** base64 of a private JWK set; unset → keys generated once and kept in the auth database. */
      signingKeys: read.optionalString('AUTH_SIGNING_KEYS'),
      /** How often each replica rereads the key table, so a rotated key reaches all of them. */
      reloadIntervalMs: read.durationMs('SIGNING_KEYS_RELOAD_INTERVAL', 30_000),
      /** `rotate-keys` publishes the new key this long before signing with it (> every verifier's JWKS refetch interval). */
      activationDelayMs: read.durationMs('SIGNING_KEY_ACTIVATION_DELAY', 60_000),
      encryption: readKeyEncryption(read),
    },
    argon2: {
      memoryCost: read.int('ARGON2_MEMORY_KIB', 19_456, { min: 8, max: 4_194_304 }),
      timeCost: read.int('ARGON2_TIME_COST', 2, { min: 1, max: 100 }),
      parallelism: read.int('ARGON2_PARALLELISM', 1, { min: 1, max: 64 }),
    },
    throttle: {
      windowMs: read.durationMs('LOGIN_THROTTLE_WINDOW', 15 * 60_000),
      /** Failed logins of one account from one address before each further attempt waits (firstDelayMs, doubling). */
      freeFailures: read.int('LOGIN_FAILURES_BEFORE_DELAY', 3, { min: 1 }),
      firstDelayMs: read.durationMs('LOGIN_FIRST_DELAY', 1_000),
      /** Failed logins from one address over every account within the window: the budget of a password spray. */
      maxFailuresPerAddress: read.int('LOGIN_MAX_FAILURES_PER_IP', 20, { min: 1 }),
    },
    account: {
      /** The web app's account pages the emailed links open; the token travels in the fragment (never sent to a server). */
      linkBaseUrl: read.url('ACCOUNT_LINK_BASE_URL', 'http://localhost/account'),
      verifyEmailTtlMs: read.durationMs('EMAIL_VERIFICATION_TTL', 24 * 3_600_000),
      passwordResetTtlMs: read.durationMs('PASSWORD_RESET_TTL', 30 * 60_000),
      /** At most one link of each kind per account in this interval: nobody can flood an inbox. */
      emailIntervalMs: read.durationMs('ACCOUNT_EMAIL_INTERVAL', 60_000),
    },
    admin: readAdmin(read),
  };
  if (URL.canParse(config.account.linkBaseUrl) && !/^https?:$/.test(new URL(config.account.linkBaseUrl).protocol)) {
    read.problem('ACCOUNT_LINK_BASE_URL is not an http(s) URL');
  }
  if (config.keys.signingKeys !== undefined && !/^[A-Za-z0-9+/_-]+=*$/.test(config.keys.signingKeys)) {
    read.problem('AUTH_SIGNING_KEYS is not base64');
  }
  read.assertValid('auth');
  return Object.freeze(config);
}

/**
 * The key-encryption key that seals the signing keys kept in the database (needless with AUTH_SIGNING_KEYS, which
 * keeps them out of it), and during a KEK rotation the one before it, which still opens rows not yet resealed.
 */
function readKeyEncryption(read: ReturnType<typeof envReader>): { current: string; previous?: string } | undefined {
  if (read.optionalString('AUTH_SIGNING_KEYS') !== undefined) return undefined;
  const current = read.secret('AUTH_KEY_ENCRYPTION_KEY', { minLength: 32 });
  const previous = read.optionalString('AUTH_KEY_ENCRYPTION_KEY_PREVIOUS');
  if (previous !== undefined && previous === current) read.problem('AUTH_KEY_ENCRYPTION_KEY_PREVIOUS is the same as AUTH_KEY_ENCRYPTION_KEY');
  return previous === undefined ? { current } : { current, previous };
}

/**
 * The first admin is optional, but an email without a usable password (or the reverse) is a mistake. The
 * `.env.example` placeholder password is public: it is accepted only while the gateway is published on loopback
 * (GATEWAY_BIND, which compose passes here too) and never in production.
 */
function readAdmin(read: ReturnType<typeof envReader>): { email: string; password: string } | undefined {
  const email = read.optionalString('ADMIN_EMAIL');
  const password = read.optionalString('ADMIN_PASSWORD');
  const gatewayBind = read.optionalString('GATEWAY_BIND');
  if (email === undefined && password === undefined) return undefined;
  if (email === undefined) read.problem('ADMIN_EMAIL is missing (ADMIN_PASSWORD is set)');
  if (password === undefined) read.problem('ADMIN_PASSWORD is missing (ADMIN_EMAIL is set)');
  else if (password.length < 12) read.problem('ADMIN_PASSWORD is shorter than 12 characters');
  else if (password.startsWith(PLACEHOLDER_PREFIX) && (read.production || !isLoopback(gatewayBind))) {
    const exposure = read.production ? 'in production' : `while the gateway is published on ${gatewayBind ?? 'an unknown interface (GATEWAY_BIND is unset)'}`;
    read.problem(`ADMIN_PASSWORD still holds a ${PLACEHOLDER_PREFIX} placeholder ${exposure}: set a real one, or GATEWAY_BIND=127.0.0.1`);
  }
  return { email: (email ?? '').toLowerCase(), password: password ?? '' };
}

const isLoopback = (address: string | undefined) => address !== undefined && /^(127(\.\d{1,3}){3}|::1|\[::1\]|localhost)$/.test(address);

export type AuthConfig = ReturnType<typeof loadConfig>;
export type TokenSettings = AuthConfig['tokens'];
export type Argon2Settings = AuthConfig['argon2'];
export type ThrottleSettings = AuthConfig['throttle'];
export type AccountSettings = AuthConfig['account'];
