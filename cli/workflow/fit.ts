/** How wide the CLI draws: the terminal's width when known and smaller, else 80 columns. */
export const screenWidth = (columns: number | undefined): number => Math.max(40, Math.min(80, columns && columns > 0 ? columns : 80));

export const count = (value: number): string => Math.round(value).toLocaleString('en-US');

/** A name shortened to `width` keeping both ends (GitLab queue names reach 100 characters). */
export function shorten(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(0, width);
  const head = Math.ceil((width - 1) / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (width - 1 - head))}`;
}

/** Cuts a line to `width` (an ellipsis marks the cut). */
export const clip = (line: string, width: number): string => (line.length <= width ? line : `${line.slice(0, width - 1)}…`);

/** Wraps prose at spaces to `width`, continuation lines indented by two. */
export function wrap(line: string, width: number): string[] {
  if (line.length <= width) return [line];
  const out: string[] = [];
  let rest = line;
  let indent = '';
  while (indent.length + rest.length > width) {
    const room = width - indent.length;
    let cut = rest.lastIndexOf(' ', room);
    if (cut <= 0) cut = room;
    out.push(indent + rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
    indent = '  ';
  }
  if (rest) out.push(indent + rest);
  return out;
}

/** `1h02m05s`, `3m07s`, `42s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const pad = (v: number) => String(v).padStart(2, '0');
  return h > 0 ? `${h}h${pad(m)}m${pad(sec)}s` : m > 0 ? `${m}m${pad(sec)}s` : `${sec}s`;
}
