export { parsePem, toPem, type PemBlock } from './pem.js';
export {
  parseCertificateChain, describeCertificate, parsePrivateKey, keyMatchesCertificate, hasMustStaple, spkiDer, toPkijs, keyDescription,
  type CertificateChain, type CertificateFacts,
} from './certificate.js';
export * from './ocsp-codec.js';
export { DerError, DerCursor, readTlv, topLevel, readUnsignedInteger, describeTag, derElement, derLength, DER_TAG, type Tlv } from './der.js';
