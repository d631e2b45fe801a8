/** Reading a PEM file of CA certificates (for --ca, PORTUNUS_CA, the config file's `ca`, NODE_EXTRA_CA_CERTS). */
import { readFileSync, statSync } from 'node:fs';
import { createError, PortunusError } from '@portunus/protocol/errors';

/** Far larger than any CA bundle (the whole Mozilla set is ~220 KiB); anything bigger is not a CA file. */
export const MAX_CA_FILE_BYTES = 1024 * 1024;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
const HINT =
  "Give a PEM file holding the certificate of the CA that signed the relay's certificate (or the relay's own, if self-signed).";

/**
 * The PEM certificates in the file at `path`, each checked to parse as X.509. Throws USAGE (exit 2) when the file
 * cannot be read, is too big or holds no certificate; `what` says where the path came from (`--ca`, …).
 */
export function readCaFile(path: string, what: string): string[] {
  const shown = `${what} file '${path.slice(0, 300)}'`;
  let text: string;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw caError(`${shown} is not a regular file`);
    if (stat.size > MAX_CA_FILE_BYTES) throw caError(`${shown} is larger than ${MAX_CA_FILE_BYTES / 1024} KiB`);
    text = readFileSync(path, 'latin1'); // PEM is ASCII; latin1 decodes any byte, so garbage fails below, not here
  } catch (err) {
    if (err instanceof PortunusError) throw err;
    throw caError(`cannot read ${shown}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const certificates = text.match(PEM_CERTIFICATE) ?? [];
  if (certificates.length === 0) throw caError(`${shown} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  // node:crypto is loaded here, on first use, not at start-up (`portunus --help` reaches this module).
  const { X509Certificate } = process.getBuiltinModule('node:crypto');
  for (const pem of certificates) {
    try {
      new X509Certificate(pem);
    } catch {
      throw caError(`${shown} holds a certificate that does not parse`);
    }
  }
  return certificates;
}

function caError(message: string): PortunusError {
  return createError('USAGE', message, { hint: HINT });
}
