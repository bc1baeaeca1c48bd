import { afterAll } from 'vitest';
import { disposeLeftovers } from './leftovers.js';

// A setup file's hooks are registered before the test file's own, and vitest runs "after" hooks
// in reverse ("stack"): this runs last, once the file's own afterAll hooks are done.
afterAll(disposeLeftovers);
