import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectOptions } from '../../../cli/workflow/connect-options.js';
import { InputError } from '../../../core/errors/input-error.js';
import { caCertificatesProblem, TEXT_BEFORE_BEGIN } from '../../../core/config/ca-certificates.js';

// The CA files connect-options.ts reads (--tls-ca, --from-tls-ca, --to-tls-ca): what Node's TLS
// trusts is taken, what it would silently leave out is refused.
const FIXTURES = join(import.meta.dirname, '../../fixtures/tls');
const CA = readFileSync(join(FIXTURES, 'ca.crt'), 'utf8');
const IN_PEM = "give the CA's certificate(s) in PEM form, as in a .crt or .pem file";

let dir: string;
let server: Server;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ca-file-'));
  server = createServer({ key: readFileSync(join(FIXTURES, 'server.key')), cert: readFileSync(join(FIXTURES, 'server.crt')) }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Whether a TLS client given these CAs verifies the test server (signed by the test CA). */
async function verifies(ca: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', ca }, () => {
      resolve(socket.authorized);
      socket.end();
    });
    socket.on('error', () => resolve(false));
  });
}

describe('a CA file', () => {
  // OpenSSL's trusted form (`openssl x509 -addtrust`, some distributions' bundles): the certificate
  // followed by its trust settings. Node's TLS trusts it as any certificate.
  it('in the form "BEGIN TRUSTED CERTIFICATE" is taken, and verifies the server it signed', async () => {
    const der = Buffer.concat([new X509Certificate(CA).raw, Buffer.from([0x30, 0x00])]);
    const trusted = `-----BEGIN TRUSTED CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END TRUSTED CERTIFICATE-----\n`;
    const path = write('trusted.pem', trusted);

    const ca = connectOptions({ caFiles: [path] }, 'migrate-target').tls!.ca as string[];

    expect(ca.at(-1)).toBe(trusted);
    expect(await verifies(ca)).toBe(true);
  });

  // OpenSSL's old name for a certificate block (PEM_STRING_X509_OLD), which it and Node's TLS read.
  it('in the old form "BEGIN X509 CERTIFICATE" is taken, and verifies the server it signed', async () => {
    const old = CA.replace(/(BEGIN|END) CERTIFICATE/g, '$1 X509 CERTIFICATE');
    const path = write('x509.pem', old);

    const ca = connectOptions({ caFiles: [path] }, 'migrate-target').tls!.ca as string[];

    expect(ca.at(-1)).toBe(old);
    expect(await verifies(ca)).toBe(true);
  });

  it('with CRLF line ends is taken, and verifies the server', async () => {
    const path = write('crlf.pem', CA.replace(/\r?\n/g, '\r\n'));

    const ca = connectOptions({ caFiles: [path] }, 'migrate-target').tls!.ca as string[];

    expect(await verifies(ca)).toBe(true);
  });

  // A certificate cut short (its END line lost in a copy) was left out without a word, as a
  // damaged one was: Node's TLS stops reading the file there.
  it('with a certificate cut short after a good one is refused, naming the certificate', () => {
    const cut = CA.trimEnd().split('\n').slice(0, -1).join('\n');
    const path = write('cut.pem', `${CA}${cut}\n`);

    expect(() => connectOptions({ caFiles: [path] }, 'migrate-target')).toThrow(new InputError(`The CA certificate file ${path}: certificate 2 of the file is not readable: ${IN_PEM}`));
  });

  it('with a certificate cut short before a good one is refused, naming the certificate', () => {
    const cut = CA.trimEnd().split('\n').slice(0, -1).join('\n');
    const path = write('cut-first.pem', `${cut}\n${CA}`);

    expect(() => connectOptions({ caFiles: [path] }, 'migrate-target')).toThrow(new InputError(`The CA certificate file ${path}: certificate 1 of the file is not readable: ${IN_PEM}`));
  });
});

// A byte order mark (U+FEFF) before a certificate: Node's TLS (OpenSSL 3's PEM reader) skips one
// only where a PEM read starts, at the start of the text or on the line right after the END line
// of the certificate before it, and leaves the certificate out without a word for one anywhere
// else, as for any text before -----BEGIN on its line. caCertificatesProblem, the check the CLI and
// the deployment share, takes exactly what Node then trusts: each text here ends with the CA that
// signed the test server, after the unrelated second CA.
describe('a byte order mark or other text before a certificate: the check takes what Node trusts', () => {
  const OTHER = readFileSync(join(FIXTURES, '../tls-second/ca.crt'), 'utf8');
  const BOM = '\uFEFF';
  it.each([
    ['a mark at the start of the file', `${BOM}${CA}`, undefined],
    ['a mark before each of two files concatenated', `${BOM}${OTHER}${BOM}${CA}`, undefined],
    ['a mark after a CRLF END line', `${OTHER.replace(/\n/g, '\r\n')}${BOM}${CA.replace(/\n/g, '\r\n')}`, undefined],
    ['a comment line before the certificate', `${OTHER}# the test CA\n${CA}`, undefined],
    ['two marks at the start of the file', `${BOM}${BOM}${CA}`, { textBefore: 1 }],
    ['a mark after a blank line', `${OTHER}\n${BOM}${CA}`, { textBefore: 2 }],
    ['a mark after a comment line', `${OTHER}# the test CA\n${BOM}${CA}`, { textBefore: 2 }],
    ['other text before -----BEGIN', `${OTHER}x${CA}`, { textBefore: 2 }],
    ['-----BEGIN on the END line before it', `${OTHER.trimEnd()}${CA}`, { textBefore: 2 }],
  ])('%s', async (_case, text, problem) => {
    expect(caCertificatesProblem(text)).toEqual(problem);
    expect(await verifies([text])).toBe(problem === undefined);
  });

  it('the CLI reads its file without the mark at its start (two there: one left, where Node skips it), and refuses one Node would leave out, naming it', async () => {
    const two = write('two-marks.pem', `${BOM}${BOM}${CA}`);
    const ca = connectOptions({ caFiles: [two] }, 'migrate-target').tls!.ca as string[];
    expect(ca.at(-1)).toBe(`${BOM}${CA}`);
    expect(await verifies(ca)).toBe(true);

    const blank = write('mark-after-blank.pem', `${OTHER}\n${BOM}${CA}`);
    expect(() => connectOptions({ caFiles: [blank] }, 'migrate-target')).toThrow(new InputError(`The CA certificate file ${blank}: certificate 2 of the file ${TEXT_BEFORE_BEGIN}`));
  });
});

