import { builder } from './builder.js';
import './project.js';
import './api-key.js';
import './table.js';
import './row.js';

export const schema = builder.toSchema({ sortSchema: false });
