import { X509Certificate } from 'node:crypto';

// OpenSSL's trusted form (BEGIN TRUSTED CERTIFICATE: the certificate and its trust settings) and
// its old name (BEGIN X509 CERTIFICATE) too: Node's TLS reads them as certificates.
const PEM_BEGIN = /-----BEGIN (TRUSTED |X509 )?CERTIFICATE-----/g;

/**
 * What is wrong with a CA file's text for Node's TLS, or undefined: no certificate in it (Node
 * takes any text as a CA and trusts nothing of one without a certificate), certificate N (1-based)
 * not readable, damaged or cut short (Node's TLS stops reading the file there, leaving it and those
 * after it out without a word), or certificate N with text before its -----BEGIN on the same line
 * (`textBefore`: Node's TLS, OpenSSL's PEM reader, takes a BEGIN line only where it starts its
 * line, and leaves that certificate out without a word). A byte order mark (U+FEFF) is such text
 * but where OpenSSL 3 skips it: at the start of the text, and on the line right after the END line
 * of the certificate before it (where each of its PEM reads starts; measured with Node 20 and 22,
 * OpenSSL 3.0 and 3.5: bench/README.md, audit-heldby). One check for the CLI's --tls-ca options
 * and the deployment's tlsCaFile, whose functions' TLS is Node's too; both read the file without a
 * leading byte order mark (read-input-file.ts withoutByteOrderMark), as they hand it to Node.
 */
export function caCertificatesProblem(text: string): { readonly none: true } | { readonly unreadable: number } | { readonly textBefore: number } | undefined {
  const starts = [...text.matchAll(PEM_BEGIN)].map(({ index }) => index);
  if (starts.length === 0) return { none: true };
  for (const [i, start] of starts.entries()) {
    // Each certificate up to the next PEM block, its END line included or not: one cut short (its
    // END line lost) is not readable, not skipped.
    const next = text.indexOf('-----BEGIN ', start + 1);
    const block = text.slice(start, next === -1 ? undefined : next);
    if (!beginsItsLine(text, start)) return { textBefore: i + 1 };
    try {
      new X509Certificate(block);
    } catch {
      return { unreadable: i + 1 };
    }
  }
  return undefined;
}

/** The words for `textBefore` (caCertificatesProblem), after "certificate N of the file". */
export const TEXT_BEFORE_BEGIN =
  "has text before -----BEGIN on its line (a byte order mark, U+FEFF, counts too, but at the start of the file or of the line after the certificate before it): Node's TLS leaves such a certificate out without a word; remove that text";

/** Whether OpenSSL's PEM reader takes the -----BEGIN at `start` (caCertificatesProblem). */
function beginsItsLine(text: string, start: number): boolean {
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const before = text.slice(lineStart, start);
  if (before === '') return true;
  if (before !== '\uFEFF') return false;
  if (lineStart === 0) return true;
  // The line before: the END line of the certificate before it (a PEM read ended there).
  const previous = text.slice(text.lastIndexOf('\n', lineStart - 2) + 1, lineStart - 1).replace(/\r$/, '');
  return /^-----END [^-]+-----$/.test(previous);
}
