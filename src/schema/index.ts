import { builder } from './builder.js';
import './project.js';
import './api-key.js';
import './table.js';
import './row.js';
import './contact.js';
import './conversation.js';
import './message.js';
import './sql.js';
import './change.js';

export const schema = builder.toSchema({ sortSchema: false });
