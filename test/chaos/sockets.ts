// Raw TLS connections for the client-side faults: a request cut after half its body, a blocking
// acquire whose client goes away, connections left idle or half-open.
import tls from 'node:tls';
import type { KeyedCert } from '../../src/pki/x509.js';

export function connectTls(url: string, caPem: string, cert?: KeyedCert): Promise<tls.TLSSocket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: hostname,
      port: Number(port),
      ca: caPem,
      cert: cert?.certPem,
      key: cert?.keyPem,
      servername: 'localhost',
    });
    // the server closing an idle connection, or dying, is expected here
    socket.on('error', () => undefined);
    socket.setTimeout(10_000, () => reject(new Error('TLS handshake timed out')));
    socket.once('secureConnect', () => {
      socket.setTimeout(0);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export function requestHead(method: string, path: string, headers: Record<string, string> = {}): string {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    'Host: localhost',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}
