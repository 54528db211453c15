// From command-line flags to a ready client: config file, Puppet defaults, certificates.
// Shared by `keyholder lock` and `keyholder update` so both find their settings the same way.
import {
  DEFAULT_CONFIG_PATH,
  loadConfigFile,
  resolveConnection,
  type ConnectionFlags,
  type FileConfig,
} from './config.js';
import { loadCredentials } from './credentials.js';
import { DlmClient } from './http.js';
import { systemPuppetLookup } from './puppet.js';

export interface CommonFlags extends ConnectionFlags {
  config?: string;
}

export interface Connected {
  client: DlmClient;
  /** the host name the server knows us by (client certificate CN) */
  host: string;
}

export function loadClientConfig(flags: CommonFlags): Promise<FileConfig> {
  return loadConfigFile(flags.config ?? DEFAULT_CONFIG_PATH, flags.config !== undefined);
}

export async function connectWith(flags: ConnectionFlags, file: FileConfig): Promise<Connected> {
  const conn = resolveConnection(flags, file, systemPuppetLookup(file.certname));
  const creds = await loadCredentials(conn);
  const client = new DlmClient({ url: conn.url, tls: creds.tls, timeoutMs: conn.requestTimeoutMs });
  return { client, host: creds.hostName };
}

export async function connect(flags: CommonFlags): Promise<Connected> {
  return connectWith(flags, await loadClientConfig(flags));
}
