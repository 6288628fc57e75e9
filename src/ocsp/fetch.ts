/**
 * Talking to OCSP responders and AIA caIssuers URLs, through `src/net`'s
 * client (timeout, AbortSignal, size cap, at most 3 redirects, http(s) only).
 */
import { NetworkError, TlskeeperError, ValidationError } from '../errors/index.js';
import { httpRequest, type HttpResponse } from '../net/index.js';
import { isIssuedBy, parseIssuerCertificates, type CertificateInfo } from '../pki/index.js';

/** An OCSP response is a few kilobytes; anything near this is not one. */
export const OCSP_MAX_RESPONSE_BYTES = 1024 * 1024;
/** RFC 5019 §5: requests whose GET URL stays within 255 bytes MUST use GET (so caches can serve them). */
export const GET_URL_MAX_BYTES = 255;
const OCSP_RESPONSE_TYPE = 'application/ocsp-response';

/**
 * The GET form of a request (RFC 6960 Appendix A.1): the responder URL, a
 * slash, then the URL-encoding of the base64 encoding of the DER request.
 */
export function ocspGetUrl(responderUrl: string, requestDer: Buffer): string {
  return `${responderUrl}${responderUrl.endsWith('/') ? '' : '/'}${encodeURIComponent(requestDer.toString('base64'))}`;
}

/** GET when the URL fits in 255 bytes (RFC 5019 §5), else POST. */
export function ocspRequestMethod(responderUrl: string, requestDer: Buffer): 'GET' | 'POST' {
  return Buffer.byteLength(ocspGetUrl(responderUrl, requestDer)) <= GET_URL_MAX_BYTES ? 'GET' : 'POST';
}

export interface FetchOcspOptions {
  /** Certificate name, for messages. */
  name: string;
  url: string;
  request: Buffer;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface FetchedOcsp {
  body: Buffer;
  method: 'GET' | 'POST';
  /** The URL that answered (after redirects). */
  url: string;
}

/**
 * Fetch a response. GET when the URL fits in 255 bytes, else POST with
 * `application/ocsp-request` (RFC 6960 Appendix A.1). A responder that
 * refuses the GET form with 400/404/405/414/501 (OpenSSL's built-in responder
 * does for URLs with a path) is asked once more by POST. Any status but 200,
 * or a content type other than application/ocsp-response, is an error: the
 * body is never looked at, so a captive portal's HTML cannot become a staple.
 */
export async function fetchOcspResponse(opts: FetchOcspOptions): Promise<FetchedOcsp> {
  const getUrl = ocspGetUrl(opts.url, opts.request);
  let method = ocspRequestMethod(opts.url, opts.request);
  let res = await send(opts, method, getUrl);
  if (method === 'GET' && [400, 404, 405, 414, 501].includes(res.status)) {
    method = 'POST';
    res = await send(opts, method, getUrl);
  }
  const object = `certificate ${opts.name}`;
  if (res.status !== 200) {
    throw new NetworkError(`${object}: the OCSP responder ${opts.url} answered HTTP ${res.status} (${method})`, {
      code: 'OCSP_HTTP_STATUS', object,
      hint: 'the responder failed; tlskeeper keeps the staple it has and retries with backoff (1 min doubling to 1 h)',
    });
  }
  const contentType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== OCSP_RESPONSE_TYPE) {
    throw new ValidationError(`${object}: the OCSP responder ${opts.url} answered with content type "${contentType || '(none)'}", not ${OCSP_RESPONSE_TYPE}`, {
      code: 'OCSP_BAD_CONTENT_TYPE', object,
      hint: 'RFC 6960 Appendix A.1 requires application/ocsp-response; a web page or proxy answered instead. Check ocsp.url and any HTTP proxy. Nothing was written',
    });
  }
  return { body: res.body, method, url: res.url };
}

async function send(opts: FetchOcspOptions, method: 'GET' | 'POST', getUrl: string): Promise<HttpResponse> {
  try {
    return await httpRequest({
      url: method === 'GET' ? getUrl : opts.url,
      method,
      headers: method === 'POST'
        ? { 'content-type': 'application/ocsp-request', accept: OCSP_RESPONSE_TYPE }
        : { accept: OCSP_RESPONSE_TYPE },
      ...(method === 'POST' ? { body: opts.request } : {}),
      timeoutMs: opts.timeoutMs,
      maxBodyBytes: OCSP_MAX_RESPONSE_BYTES,
      maxRedirects: 3,
      ...(opts.signal ? { signal: opts.signal } : {}),
      what: `OCSP responder ${opts.url}`,
    });
  } catch (err) {
    throw forCertificate(err, opts.name, 'OCSP_FETCH_FAILED');
  }
}

const NETWORK_HINTS: Record<string, string> = {
  HTTP_TIMEOUT: 'the responder did not answer in time (ocsp.timeout); tlskeeper keeps the staple it has and retries with backoff',
  HTTP_TOO_LARGE: 'an OCSP response is a few kilobytes: the URL does not serve OCSP responses; check ocsp.url. Nothing was written',
  HTTP_FAILED: 'check that the responder is reachable from this host (DNS, firewall, proxy); tlskeeper keeps the staple it has and retries',
  HTTP_TOO_MANY_REDIRECTS: 'the responder URL redirects in a loop or through more than 3 hops (RFC 5019 §5 expects none): set ocsp.url to the final responder URL; tlskeeper keeps the staple it has and retries',
  HTTP_BAD_REDIRECT: 'the responder redirected to a URL that is neither http nor https: set ocsp.url to a working HTTP responder; tlskeeper keeps the staple it has and retries',
};

/** Re-label a network error with the certificate it was for, keeping its code. */
function forCertificate(err: unknown, name: string, fallbackCode: string): TlskeeperError {
  const object = `certificate ${name}`;
  if (err instanceof TlskeeperError) {
    return new NetworkError(`${object}: ${err.message}`, { code: err.code, object, hint: NETWORK_HINTS[err.code] ?? err.hint ?? NETWORK_HINTS.HTTP_FAILED!, cause: err });
  }
  return new NetworkError(`${object}: ${(err as Error).message ?? String(err)}`, { code: fallbackCode, object, cause: err });
}

/**
 * Fetch the issuer from the leaf's AIA caIssuers URLs (RFC 5280 §4.2.2.1),
 * accepting a certificate only if its key verifies the leaf's signature: the
 * URL is plain HTTP, so whatever it serves is untrusted until then.
 */
export async function fetchIssuerFromAia(leaf: CertificateInfo, opts: { name: string; timeoutMs: number; signal?: AbortSignal }): Promise<CertificateInfo> {
  const object = `certificate ${opts.name}`;
  const urls = leaf.caIssuersUrls.filter((u) => /^https?:\/\//i.test(u));
  if (urls.length === 0) {
    throw new ValidationError(`${object}: the certificate file holds no issuer certificate and the certificate names no caIssuers URL`, {
      code: 'OCSP_ISSUER_UNKNOWN', object,
      hint: 'append the intermediate certificate to the certificate file (after the leaf); the OCSP request and the response signature need it',
    });
  }
  const errors: string[] = [];
  for (const url of urls) {
    try {
      const res = await httpRequest({
        url, method: 'GET', timeoutMs: opts.timeoutMs, maxBodyBytes: OCSP_MAX_RESPONSE_BYTES, maxRedirects: 3,
        ...(opts.signal ? { signal: opts.signal } : {}), what: `caIssuers ${url}`,
      });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      const found = parseIssuerCertificates(res.body, `issuer of ${opts.name} from ${url}`).find((c) => isIssuedBy(leaf, c));
      if (found) return found;
      errors.push(`${url}: no certificate there verifies the leaf's signature`);
    } catch (err) {
      errors.push(`${url}: ${(err as Error).message}`);
    }
  }
  throw new ValidationError(`${object}: no usable issuer certificate from caIssuers (${errors.join('; ')})`, {
    code: 'OCSP_ISSUER_FETCH_FAILED', object,
    hint: 'append the intermediate certificate to the certificate file (after the leaf), so it need not be fetched',
  });
}
