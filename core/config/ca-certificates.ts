import { X509Certificate } from 'node:crypto';

// OpenSSL's trusted form (BEGIN TRUSTED CERTIFICATE: the certificate and its trust settings) and
// its old name (BEGIN X509 CERTIFICATE) too: Node's TLS reads them as certificates.
const PEM_BEGIN = /-----BEGIN (TRUSTED |X509 )?CERTIFICATE-----/g;

/**
 * What is wrong with a CA file's text for Node's TLS, or undefined: no certificate in it (Node
 * takes any text as a CA and trusts nothing of one without a certificate), or certificate N
 * (1-based) not readable, damaged or cut short (Node's TLS stops reading the file there, leaving
 * it and those after it out without a word). One check for the CLI's --tls-ca options and the
 * deployment's tlsCaFile, whose functions' TLS is Node's too.
 */
export function caCertificatesProblem(text: string): { readonly none: true } | { readonly unreadable: number } | undefined {
  // Each certificate up to the next PEM block, its END line included or not: one cut short (its
  // END line lost) is not readable, not skipped.
  const blocks = [...text.matchAll(PEM_BEGIN)].map(({ index: start }) => {
    const next = text.indexOf('-----BEGIN ', start + 1);
    return text.slice(start, next === -1 ? undefined : next);
  });
  if (blocks.length === 0) return { none: true };
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      return { unreadable: i + 1 };
    }
  }
  return undefined;
}
