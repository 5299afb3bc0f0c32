import { runService } from '@hubspoke/kit';
import { loadConfig } from './config.js';
import { notificationService } from './service.js';

runService(() => notificationService(loadConfig(process.env)));
