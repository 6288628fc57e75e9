/**
 * pkijs and asn1js, loaded on first use. Importing them costs ~90 ms at every
 * start (measured: `import('pkijs')` 87 ms on the reference machine), and the
 * common paths need neither: certificates and OCSP responses are read by the
 * DER codec in ./ocsp-codec.ts. They are still the tools for the rare cases
 * that codec leaves to them (a PKCS#7 caIssuers bundle, a certificate the
 * strict codec refuses).
 *
 * Both packages are CommonJS (a "main", no "exports", no "type": "module"),
 * so require() returns the very module object a static import would.
 */
import { createRequire } from 'node:module';
import type * as Asn1js from 'asn1js';
import type * as Pkijs from 'pkijs';

const load = createRequire(import.meta.url);
let pkijsModule: typeof Pkijs | undefined;
let asn1jsModule: typeof Asn1js | undefined;

export function pkijs(): typeof Pkijs {
  return (pkijsModule ??= load('pkijs') as typeof Pkijs);
}

export function asn1js(): typeof Asn1js {
  return (asn1jsModule ??= load('asn1js') as typeof Asn1js);
}
