// From command-line flags to a ready client: config file, Puppet defaults, certificates.
// Shared by `keyholder lock` and `keyholder update` so both find their settings the same way.
import {
  DEFAULT_CONFIG_PATH,
  loadConfigFile,
  resolveConnection,
  type ConnectionFlags,
  type FileConfig,
} from './config.js';
import { loadCredentials, puppetLookup } from './credentials.js';
import { DlmClient } from './http.js';

export interface CommonFlags extends ConnectionFlags {
  config?: string;
}

export interface Connected {
  client: DlmClient;
  /** the host name the server knows us by (client certificate CN) */
  host: string;
  file: FileConfig;
}

export async function connect(flags: CommonFlags): Promise<Connected> {
  const file = await loadConfigFile(flags.config ?? DEFAULT_CONFIG_PATH, flags.config !== undefined);
  const conn = resolveConnection(flags, file, puppetLookup(file.certname));
  const creds = await loadCredentials(conn);
  const client = new DlmClient({ url: conn.url, tls: creds.tls, timeoutMs: conn.requestTimeoutMs });
  return { client, host: creds.hostName, file };
}
