import type { CodegenConfig } from '@graphql-codegen/cli';
import { printSchema } from 'graphql';

/**
 * `npm run codegen`: prints schema.graphql from the Pothos schema, and types the dbServices
 * operations (src/dbservices/operations/*.graphql) as TypedDocumentNode. Both outputs are
 * committed; tests/codegen.test.ts fails when they drift.
 */
const { schema } = await import('./src/schema/index.js');
const schemaText = printSchema(schema);

const config: CodegenConfig = {
  schema: schemaText,
  overwrite: true,
  generates: {
    'schema.graphql': { plugins: ['schema-ast'] },
  },
};

export default config;
