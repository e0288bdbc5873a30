/**
 * A path as a message shows it: as given, but quoted (JSON) when it is empty, starts or ends with
 * whitespace, or holds a control character. `--mapping "$MAPPING "` or a blank `--tls-ca "  "`
 * were printed bare — "Cannot read the class mapping file   : no such file" — and the user saw
 * no path at all, or not the space that made it wrong.
 */
export function shownPath(path: string): string {
  return path.trim() !== path || path === '' || /[\u0000-\u001f\u007f]/.test(path) ? JSON.stringify(path) : path;
}
