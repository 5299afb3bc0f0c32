import { runService } from '@hubspoke/kit';
import { loadConfig } from './config.js';
import { {{camel}}Service } from './service.js';

runService(() => {{camel}}Service(loadConfig(process.env)));
