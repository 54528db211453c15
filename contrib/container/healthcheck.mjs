// The image's HEALTHCHECK: GET https://127.0.0.1:$KEYHOLDER_PORT/healthz answers 200. Liveness of
// this process only, so the server certificate is not checked (it names the service, not
// 127.0.0.1). Node instead of curl: the image carries no curl.
import { request } from 'node:https';
import process from 'node:process';

const port = Number(process.env.KEYHOLDER_PORT || 8443);
const req = request(
  { host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false, timeout: 4000 },
  (res) => process.exit(res.statusCode === 200 ? 0 : 1),
);
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
req.end();
