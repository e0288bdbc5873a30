/**
 * Keeps passwords out of messages about configuration. Two nets: every `scheme://user:password@`
 * in a text is redacted as `redactRedisUrl` does, and the credentials of known URL values are
 * replaced wherever they appear — which also catches a URL malformed enough (a missing scheme,
 * a stray character) that neither a parser nor the pattern recognises it.
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  // Known secrets first: a password holding an unencoded "@" would otherwise be cut in two by the
  // pattern, and its second half no longer found.
  let redacted = text;
  for (const secret of secrets) redacted = redacted.split(secret).join('***');
  return redacted.replace(/([a-z][a-z0-9+.-]*:\/\/)([^@\s/"'`]*)@/gi, (whole, scheme: string, auth: string) => {
    // `redis://[user:password@]host`, the notation in help texts, holds no secret.
    if (auth.startsWith('[')) return whole;
    const colon = auth.indexOf(':');
    return colon < 0 ? `${scheme}***@` : `${scheme}${auth.slice(0, colon)}:***@`;
  });
}

/** Shorter strings are not replaced: they would garble messages, and are not passwords anyone relies on. */
const MIN_SECRET_LENGTH = 3;

/**
 * What a URL-valued setting may hide: the password, or a lone user part (Redis takes
 * `redis://secret@host` as a password), as written and percent-decoded.
 */
export function urlCredentials(value: string): string[] {
  const rest = value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const at = rest.lastIndexOf('@');
  if (at < 0) return [];
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  const secret = colon < 0 ? userinfo : userinfo.slice(colon + 1);
  const forms = [secret];
  try {
    forms.push(decodeURIComponent(secret));
  } catch {
    // Not valid percent-encoding: the text as written is all there is.
  }
  return [...new Set(forms)].filter((s) => s.length >= MIN_SECRET_LENGTH);
}

/**
 * The URL with everything before its last "@" (after the scheme) hidden but the user name: unlike
 * a parser, this still hides a password holding an unencoded "@" or ":".
 */
export function redactUserinfo(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
  const rest = url.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  if (at < 0) return url;
  const colon = rest.indexOf(':');
  const user = colon >= 0 && colon < at ? rest.slice(0, colon + 1) : '';
  return `${scheme}${user}***${rest.slice(at)}`;
}
