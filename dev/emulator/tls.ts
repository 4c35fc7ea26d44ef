import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import forge from 'node-forge';

export interface CertificateAuthority {
  readonly certPem: string;
  readonly keyPem: string;
  /** Path of the CA certificate (PEM), for NODE_EXTRA_CA_CERTS, skopeo --cert-dir or an https.Agent. */
  readonly caFile: string;
}

export interface ServerCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

const CA_CERT = 'ca.pem';
const CA_KEY = 'ca-key.pem';

function serial(): string {
  // Positive, 16 random bytes: leading 0x01 keeps the DER integer from being read as negative.
  return '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
}

function validity(cert: forge.pki.Certificate, years: number): void {
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 24 * 3600_000); // tolerate small clock skew
  cert.validity.notAfter = new Date(now.getTime() + years * 365 * 24 * 3600_000);
}

/**
 * Loads the CA from `directory` or creates it there. Reusing it across runs lets a developer trust it once
 * (docker/skopeo cert dirs, NODE_EXTRA_CA_CERTS) instead of after every emulator start.
 */
export async function ensureCertificateAuthority(directory: string): Promise<CertificateAuthority> {
  const caFile = join(directory, CA_CERT);
  const keyFile = join(directory, CA_KEY);
  if (existsSync(caFile) && existsSync(keyFile)) {
    return { certPem: await readFile(caFile, 'utf8'), keyPem: await readFile(keyFile, 'utf8'), caFile };
  }
  await mkdir(directory, { recursive: true });
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, 10);
  const subject = [
    { name: 'commonName', value: 'ACR emulator dev CA' },
    { name: 'organizationName', value: 'acr-streaming-autopilot dev' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  const keyPem = forge.pki.privateKeyToPem(keys.privateKey);
  await writeFile(keyFile, keyPem, { mode: 0o600 });
  await writeFile(caFile, certPem);
  return { certPem, keyPem, caFile };
}

/**
 * A leaf certificate for `localhost`, `127.0.0.1` (and Entra's discovery host), shared by every HTTPS listener of one
 * emulator.
 */
export function issueServerCertificate(ca: CertificateAuthority): ServerCertificate {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, 1);
  cert.setSubject([{ name: 'commonName', value: 'localhost' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    // Go's TLS (skopeo) ignores the CN; the SAN is what it verifies. login.microsoftonline.com is served only
    // through the Entra discovery tunnel (entra/discovery-tunnel.ts explains why MSAL needs it).
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
        { type: 2, value: 'login.microsoftonline.com' },
      ],
    },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}
