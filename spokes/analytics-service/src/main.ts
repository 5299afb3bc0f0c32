import { runService } from '@hubspoke/kit';
import { loadConfig } from './config.js';
import { analyticsService } from './service.js';

runService(() => analyticsService(loadConfig(process.env)));
