/** A throwaway self-signed certificate for 127.0.0.1, for a proxy serving HTTPS to a driver that skips verification or trusts it. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Made with openssl (which must be on PATH), valid for a day. */
export function selfSignedCertificate(): {
  /** The certificate, PEM. */
  cert: string;
  /** Its private key, PEM. */
  key: string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'storagedriver-cert-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
