// The server under `npm run bench:fleet`, in its own process (so its RSS and CPU are its own):
// keyholder on SQLite or PostgreSQL with 127.0.0.1 as a trusted proxy, so the fleet simulator
// can speak for 20,000 hosts through the ssl_client_s_dn header (see bench/fleet-sim.ts).
// Spec in FLEET_SERVE (JSON); tells the parent its port over IPC and stops on {type:'stop'}.
import { loadConfig } from '../src/config/load.js';
import { startServer } from '../src/server.js';

export interface FleetServeSpec {
  tls: { cert: string; key: string; ca: string };
  dataDir: string;
  databaseUrl?: string;
  adminPassword: string;
  /** the simulator's sockets, and some room for the observer */
  maxConnections: number;
}

const spec = JSON.parse(process.env.FLEET_SERVE ?? '{}') as FleetServeSpec;
const config = loadConfig({
  env: {},
  flags: {
    dataDir: spec.dataDir,
    host: '127.0.0.1',
    port: 0,
    database: { url: spec.databaseUrl },
    tls: spec.tls,
    trustedProxies: ['127.0.0.1'],
    adminPassword: spec.adminPassword,
    http: { maxConnections: spec.maxConnections },
    log: { level: 'silent' },
  },
});
const server = await startServer(config);
process.send?.({ type: 'ready', port: server.port });
const stop = () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('message', (m: { type?: string }) => {
  if (m.type === 'stop') stop();
});
process.once('disconnect', stop);
