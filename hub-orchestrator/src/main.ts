import { runService } from '@hubspoke/kit';
import { loadConfig } from './config.js';
import { hubService } from './service.js';

runService(() => hubService(loadConfig(process.env)));
