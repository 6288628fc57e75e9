/**
 * Reads the certificate and key files a certificate entry names, as the MTA
 * would serve them, and records every fact `status` reports. Never throws for
 * a bad file: the problem is part of what was observed.
 */
import { readFile } from 'node:fs/promises';
import type { X509Certificate } from 'node:crypto';
import type { CertificateConfig } from '../config/index.js';
import { describeError, TlskeeperError, type SerializedError } from '../errors/index.js';
import {
  describeCertificate, keyMatchesCertificate, parseCertificateChain, parsePrivateKey, type CertificateFacts,
} from '../pki/index.js';

export interface ObservedCertificate {
  config: CertificateConfig;
  /** Leaf first; empty when the file could not be read or parsed. */
  chain: X509Certificate[];
  leaf?: CertificateFacts;
  chainInOrder: boolean;
  orderProblems: string[];
  /** undefined when the key could not be read. */
  keyMatches?: boolean;
  certError?: SerializedError;
  keyError?: SerializedError;
}

export async function readCertificateEntry(config: CertificateConfig): Promise<ObservedCertificate> {
  const observed: ObservedCertificate = { config, chain: [], chainInOrder: false, orderProblems: [] };
  const object = `certificate ${config.name} (${config.cert})`;
  try {
    const pem = await readFile(config.cert);
    const chain = parseCertificateChain(pem, object);
    observed.chain = chain.certificates;
    observed.chainInOrder = chain.inOrder;
    observed.orderProblems = chain.orderProblems;
    observed.leaf = describeCertificate(chain.certificates[0]!);
  } catch (err) {
    observed.certError = fileError(err, object, 'CERT_UNREADABLE');
  }
  try {
    const key = parsePrivateKey(await readFile(config.key), `key of ${config.name} (${config.key})`);
    if (observed.chain[0]) observed.keyMatches = keyMatchesCertificate(key, observed.chain[0]);
  } catch (err) {
    observed.keyError = fileError(err, `key of ${config.name} (${config.key})`, 'KEY_UNREADABLE');
  }
  return observed;
}

function fileError(err: unknown, object: string, code: string): SerializedError {
  if (err instanceof TlskeeperError) return err.toJSON();
  const errno = (err as NodeJS.ErrnoException).code;
  if (errno) {
    return {
      code, object,
      message: `${object}: ${errno === 'ENOENT' ? 'file does not exist' : errno === 'EACCES' ? 'permission denied' : errno === 'EISDIR' ? 'is a directory' : errno}`,
      hint: errno === 'ENOENT' ? 'check the path in the configuration' : 'check the file and its permissions',
    };
  }
  return describeError(err);
}
