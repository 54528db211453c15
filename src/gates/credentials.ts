// Gate credentials: a gate names one (`"credentials":"prom"`), the config file holds it
// (`gates.credentials.prom`), so the secret never enters the lock, the API, events or logs.
// `*File` secrets are read at each check (a rotated token file is picked up at once).
import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import type { Config } from '../config/schema.js';

export type GateCredentialsConfig = Config['gates']['credentials'];

export interface RequestAuth {
  headers: Record<string, string>;
  dispatcher: Agent;
}

export class GateCredentials {
  private readonly agents = new Map<string, Agent>();
  private readonly plain = new Agent();

  constructor(private readonly config: GateCredentialsConfig) {}

  has(name: string): boolean {
    return Object.hasOwn(this.config, name);
  }

  /** Headers and connection settings for a request with the named credential (or none). */
  auth(name: string | undefined): RequestAuth {
    if (name === undefined) return { headers: {}, dispatcher: this.plain };
    const c = this.config[name];
    if (!c) throw new GateCheckError('credentials not configured');
    const headers: Record<string, string> = {};
    const token = c.bearerToken ?? (c.bearerTokenFile ? readSecret(c.bearerTokenFile) : undefined);
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (c.basicAuth) {
      const password = c.basicAuth.password ?? readSecret(c.basicAuth.passwordFile!);
      headers.authorization = `Basic ${Buffer.from(`${c.basicAuth.username}:${password}`).toString('base64')}`;
    }
    return { headers, dispatcher: this.agentFor(name, c.caFile) };
  }

  private agentFor(name: string, caFile: string | undefined): Agent {
    if (!caFile) return this.plain;
    let agent = this.agents.get(name);
    if (!agent) {
      let ca: string;
      try {
        ca = readFileSync(caFile, 'utf8');
      } catch {
        throw new GateCheckError('credentials: CA file unreadable');
      }
      agent = new Agent({ connect: { ca } });
      this.agents.set(name, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    await Promise.all([this.plain, ...this.agents.values()].map((a) => a.close()));
  }
}

function readSecret(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    // the path may say what the secret is for; the reason goes to the gate's detail, so keep it bare
    throw new GateCheckError('credentials: secret file unreadable');
  }
}

/** A check that could not get an answer; its message is the gate's (secret-free) detail. */
export class GateCheckError extends Error {}
