import { isScalar, parse, parseDocument, visit } from 'yaml';
import { InputError } from '../errors/input-error.js';
import { parsePlainJson } from './parse-plain-json.js';
import { readInputFile } from './read-input-file.js';
import { shownPath } from './shown-path.js';

/**
 * Reads a JSON or YAML file (YAML is a superset of JSON, so one parser serves both). Merge keys
 * (`<<: *base`) are honoured because GitLab's `gitlab.yml` relies on them. `what` names the file's
 * role in messages: "Cannot read the routing rules file rules.yml: ENOENT …". Plain JSON is read
 * by JSON.parse when that gives what the YAML parser gives (parse-plain-json.ts): faster.
 */
export function readStructuredFile(path: string, what: string, options: { numbersAsWritten?: boolean } = {}): unknown {
  const text = readInputFile(path, what);
  const json = options.numbersAsWritten ? undefined : parsePlainJson(text);
  if (json !== undefined) return json;
  try {
    return options.numbersAsWritten ? parseNumbersAsWritten(text) : parse(text, { merge: true, uniqueKeys: true, prettyErrors: false });
  } catch (cause) {
    // Where: the parser's position (1-based), without which a long file is searched by hand.
    const offset = (cause as { pos?: readonly number[] }).pos?.[0];
    const before = offset === undefined ? undefined : text.slice(0, offset).split('\n');
    const where = before ? ` (line ${before.length}, column ${before.at(-1)!.length + 1})` : '';
    throw new InputError(`The ${what} ${shownPath(path)} is not valid JSON or YAML${where}: ${(cause as Error).message.split('\n')[0]}`, { cause });
  }
}

/** A number written in decimal digits (a fraction and a "-" allowed, as the CLI's options take them). */
const PLAIN_DECIMAL = /^-?(\d+(\.\d+)?|\.\d+)$/;

/**
 * The YAML (or JSON) parsed with each number not written in decimal digits kept as its text
 * (`0x10`, `1e3`, `0o17`, `+5`, `.inf`): the CLI refuses such a text for a numeric option, and a
 * setting checked the same then says it, instead of taking YAML's 16, 1000, 15, 5 or Infinity.
 * A number as a mapping's key is kept as written, whatever its spelling (JavaScript's keys are text).
 */
function parseNumbersAsWritten(text: string): unknown {
  const doc = parseDocument(text, { merge: true, uniqueKeys: true, prettyErrors: false });
  const [error] = doc.errors;
  if (error) throw error;
  visit(doc, {
    // A mapping's key is text once read (a rename's old queue name `010:` or `1.50:`): as written,
    // not as the number's spelling in JavaScript ("10", "1.5"), which names another queue.
    Scalar(key, node) {
      if (typeof node.value === 'number' && isScalar(node) && node.source !== undefined && (key === 'key' || !PLAIN_DECIMAL.test(node.source))) node.value = node.source;
    },
  });
  return doc.toJS();
}
