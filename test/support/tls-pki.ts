/**
 * A throwaway PKI for the TLS tests, made with the `openssl` CLI at test time (nothing checked in):
 * a CA, server certificates signed by it, and a client certificate for mutual TLS. EC P-256 keys,
 * so the whole set takes milliseconds.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  /** PEM of the CA certificate: what a client trusts (`tls: { ca }`) and Redis checks client certs against. */
  ca: Buffer;
  caFile: string;
  /** Issues a certificate signed by the CA; returns the file paths and PEM contents. */
  issue(name: string, options: { subject: string; extensions: string[] }): { certFile: string; keyFile: string; cert: Buffer; key: Buffer };
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr.trim() || String(err)}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Creates a CA in a fresh temp dir. */
export function createPki(caSubject = '/CN=redis-stream-producer test CA'): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'rsp-tls-'));
  openssl(
    [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      caSubject,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  const caFile = join(dir, 'ca.crt');
  return {
    dir,
    ca: readFileSync(caFile),
    caFile,
    issue(name, { subject, extensions }) {
      openssl(['req', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
      writeFileSync(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          'ca.crt',
          '-CAkey',
          'ca.key',
          '-set_serial',
          `0x${randomBytes(8).toString('hex')}`,
          '-days',
          '2',
          '-out',
          `${name}.crt`,
          '-extfile',
          `${name}.ext`,
        ],
        dir,
      );
      const certFile = join(dir, `${name}.crt`);
      const keyFile = join(dir, `${name}.key`);
      return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Extensions of a server certificate valid for 127.0.0.1 and localhost. */
export const SERVER_EXTENSIONS = ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'extendedKeyUsage=serverAuth', 'keyUsage=critical,digitalSignature'];
/** Extensions of a client certificate (mutual TLS). */
export const CLIENT_EXTENSIONS = ['extendedKeyUsage=clientAuth', 'keyUsage=critical,digitalSignature'];
