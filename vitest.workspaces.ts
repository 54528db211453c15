// The workspaces from their sources, as the typecheck sees them (the "keyholder-source"
// condition): a test of a client or protocol file needs no build first. Shared by every
// vitest configuration (npm test, test:node), whose global setup imports src/.
import { fileURLToPath } from 'node:url';

export const workspaceSources = {
  alias: {
    'keyholder-protocol': fileURLToPath(new URL('protocol/src/index.ts', import.meta.url)),
    'keyholder-client': fileURLToPath(new URL('client/src/index.ts', import.meta.url)),
  },
};
