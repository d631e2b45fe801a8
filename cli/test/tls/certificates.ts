/**
 * Certificates for the TLS tests, made at run time with openssl (EC P-256, quick): a private CA, leaf certificates
 * it signs (one for localhost/127.0.0.1, one for another name, one that expired in 2020) and a self-signed one.
 * The leaves are signed with `openssl ca`, the one openssl 3.0 command that sets arbitrary validity dates.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KeyPair {
  /** Path of the PEM certificate (the leaf, then any chain). */
  cert: string;
  key: string;
}

export interface TestCertificates {
  /** The CA certificate (PEM file), what --ca is given. */
  ca: string;
  /** Signed by the CA for localhost and 127.0.0.1. */
  good: KeyPair;
  /** `good` with the CA certificate appended, as servers that send their whole chain do. */
  goodWithChain: KeyPair;
  /** Signed by the CA for relay.example.org only. */
  wrongHost: KeyPair;
  /** Signed by the CA for localhost and 127.0.0.1, valid from 2020-01-01 to 2020-01-02 only. */
  expired: KeyPair;
  /** Self-signed, for localhost and 127.0.0.1. */
  selfSigned: KeyPair;
}

const LOCAL_NAMES = 'DNS:localhost,IP:127.0.0.1';

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function makeCertificates(dir: string): TestCertificates {
  openssl(dir, [
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Portunus Test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  ]);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `database = ${join(dir, 'index.txt')}`,
      `new_certs_dir = ${dir}`,
      `serial = ${join(dir, 'serial')}`,
      `certificate = ${join(dir, 'ca.pem')}`,
      `private_key = ${join(dir, 'ca.key')}`,
      'default_md = sha256',
      'policy = any_name',
      'copy_extensions = copy',
      'unique_subject = no',
      '[any_name]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  const leaf = (name: string, cn: string, san: string, validity: string[]): KeyPair => {
    openssl(dir, [
      'req',
      '-new',
      ...newKey,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${cn}`,
      '-addext',
      `subjectAltName=${san}`,
      '-addext',
      'basicConstraints=CA:FALSE',
      '-addext',
      'extendedKeyUsage=serverAuth',
    ]);
    openssl(dir, [
      'ca',
      '-batch',
      '-notext',
      '-config',
      'ca.cnf',
      '-in',
      `${name}.csr`,
      '-out',
      `${name}.pem`,
      ...validity,
    ]);
    return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  };
  const good = leaf('good', 'localhost', LOCAL_NAMES, ['-days', '2']);
  const wrongHost = leaf('wrong-host', 'relay.example.org', 'DNS:relay.example.org', ['-days', '2']);
  const expired = leaf('expired', 'localhost', LOCAL_NAMES, [
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
  ]);
  openssl(dir, [
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    'self.key',
    '-out',
    'self.pem',
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    `subjectAltName=${LOCAL_NAMES}`,
  ]);
  writeFileSync(
    join(dir, 'good-chain.pem'),
    readFileSync(good.cert, 'utf8') + readFileSync(join(dir, 'ca.pem'), 'utf8'),
  );
  return {
    ca: join(dir, 'ca.pem'),
    good,
    goodWithChain: { cert: join(dir, 'good-chain.pem'), key: good.key },
    wrongHost,
    expired,
    selfSigned: { cert: join(dir, 'self.pem'), key: join(dir, 'self.key') },
  };
}
