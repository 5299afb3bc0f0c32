import { runService } from '@hubspoke/kit';
import { loadConfig } from './config.js';
import { authService } from './service.js';

runService(() => authService(loadConfig(process.env)));
