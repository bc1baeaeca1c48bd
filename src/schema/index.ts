import { builder } from './builder.js';
import './project.js';
import './api-key.js';

export const schema = builder.toSchema({ sortSchema: false });
