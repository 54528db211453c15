// Node's network and TLS errors turned into one line an operator can act on. The codes come from
// libuv (ECONNREFUSED…) and OpenSSL (ERR_SSL_…, alerts); the kind decides the exit code and
// whether an acquire loop tries again.
import { ClientError } from './errors.js';

// OpenSSL reports a rejected client certificate as a TLS alert from the peer.
const CLIENT_CERT_ALERTS =
  /ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_REQUIRED|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|ACCESS_DENIED)/;
const SERVER_CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);

export function transportError(err: Error, baseUrl: string): ClientError {
  if (err instanceof ClientError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (err.name === 'AbortError' || code === 'ABORT_ERR') {
    return new ClientError('interrupted', `request to ${baseUrl} interrupted`, { code });
  }
  if (CLIENT_CERT_ALERTS.test(code)) {
    return new ClientError(
      'tls',
      `the server rejected this host's client certificate (${err.message.trim()})`,
      {
        code,
      },
    );
  }
  if (SERVER_CERT_CODES.has(code)) {
    return new ClientError(
      'tls',
      `the server's certificate is not trusted (${err.message}); check --cacert`,
      {
        code,
      },
    );
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) {
    return new ClientError('tls', `TLS failed with ${baseUrl}: ${err.message.trim()}`, { code });
  }
  if (NETWORK_CODES.has(code)) {
    return new ClientError('unreachable', `cannot reach ${baseUrl}: ${describeNetwork(code, err.message)}`, {
      code,
    });
  }
  return new ClientError('unreachable', `request to ${baseUrl} failed: ${err.message}`, { code });
}

function describeNetwork(code: string, message: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the server running?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name does not resolve';
    case 'ETIMEDOUT':
      return message.startsWith('no answer') ? message : 'connection timed out';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset by the server';
    default:
      return message;
  }
}
