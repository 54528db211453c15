// One TLS connection driven by hand, for tests of connection behaviour: keep-alive reuse,
// half-sent requests, idle sockets. Responses are read off the socket as they come.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { KeyedCert } from '../../src/pki/x509.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawConnection {
  socket: TLSSocket;
  /** sends a complete request on this connection and reads its response */
  request(method: string, path: string, headers?: Record<string, string>): Promise<RawResponse>;
  /** resolves when the server has closed the connection; the milliseconds since it was opened */
  closed: Promise<number>;
  isClosed(): boolean;
}

export async function openTls(port: number, caPem: string, cert?: KeyedCert): Promise<RawConnection> {
  const opened = Date.now();
  const socket = tlsConnect({
    host: '127.0.0.1',
    port,
    ca: caPem,
    servername: 'localhost',
    cert: cert?.certPem,
    key: cert?.keyPem,
  });
  let buffer = Buffer.alloc(0);
  let waiter: (() => void) | undefined;
  let ended = false;
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => {
      ended = true;
      waiter?.();
      resolve(Date.now() - opened);
    }),
  );
  socket.on('error', () => {});
  socket.on('data', (d: Buffer) => {
    buffer = Buffer.concat([buffer, d]);
    waiter?.();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });

  const nextResponse = async (): Promise<RawResponse> => {
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end >= 0) {
        const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(headers['content-length'] ?? 0);
        if (buffer.length >= end + 4 + length) {
          const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
          buffer = buffer.subarray(end + 4 + length);
          return { status: Number(lines[0]!.split(' ')[1]), headers, body };
        }
      }
      if (ended) throw new Error('connection closed before a complete response');
      await new Promise<void>((resolve) => (waiter = resolve));
    }
  };

  return {
    socket,
    closed,
    isClosed: () => ended,
    request: async (method, path, headers = {}) => {
      const lines = [`${method} ${path} HTTP/1.1`, 'host: localhost', 'connection: keep-alive'];
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      return nextResponse();
    },
  };
}

/** A TCP connection that never starts its TLS handshake. */
export function openTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves true if the promise settles within `ms`, false otherwise. */
export async function within(ms: number, p: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = p.then(
    () => true as const,
    () => true as const,
  );
  const result = await Promise.race([settled, late]);
  clearTimeout(timer);
  return result;
}
