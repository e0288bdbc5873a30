/**
 * Ruby's `String#split(separator)` for a literal separator: like JavaScript's, except that
 * trailing empty pieces are dropped (`"a|".split("|") == ["a"]`, `"".split("|") == []`), while
 * leading and middle ones stay. GitLab's query parser inherits its quirks from exactly this.
 */
export function rubySplit(text: string, separator: string): string[] {
  const pieces = text.split(separator);
  while (pieces.length > 0 && pieces[pieces.length - 1] === '') pieces.pop();
  return pieces;
}

/**
 * Ruby's `String#strip` (Ruby ≥ 3.0, as GitLab runs): ASCII whitespace and NUL on both ends
 * (`"\0*".strip == "*"`, checked with Ruby 3.1).
 */
export function rubyStrip(text: string): string {
  return text.replace(/^[\0\t\n\v\f\r ]+/, '').replace(/[\0\t\n\v\f\r ]+$/, '');
}
