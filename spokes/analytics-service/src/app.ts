import type { Express } from 'express';
import { apiRoutes, createServiceApp } from '@hubspoke/kit';
import { analyticsRoutes } from './routes/analytics-routes.js';
import type { AnalyticsContext } from './service.js';

/** The analytics spoke's HTTP app: built from its context, never listening by itself. */
export function createApp(context: AnalyticsContext): Express {
  const { config, domain, verifier } = context;
  return createServiceApp(context, {
    // A batch of 500 client events fits; anything larger is 413 REQUEST.TOO_LARGE.
    body: { limit: '64kb' },
    api: apiRoutes({
      title: 'analytics', version: '1', description: 'Every domain event counted: client events, time series, daily reports and your own activity',
      routes: analyticsRoutes(domain), verifier, validateResponses: config.validateResponses,
    }),
  });
}
