import { runService } from '@hubspoke/kit';
import { loadConfig } from './config.js';
import { userService } from './service.js';

runService(() => userService(loadConfig(process.env)));
