/**
 * A tiny terminal model for what the CLI prints on a terminal: text, CR, LF, and the few CSI
 * sequences it uses (N F: up N lines to column 0; 2K: clear the line; J: clear below; N A/B/C/D,
 * m: handled or ignored). Lines held are counted at each new line and at the end of each write
 * (the view is redrawn line by line, so its peak is seen). It records the widest line ever written (before the terminal would wrap it) and the
 * most lines that held text at any one time.
 */
export class TerminalScreen {
  private readonly lines: string[][] = [[]];
  private row = 0;
  private col = 0;
  widest = 0;
  mostLinesHeld = 0;

  /** Characters written so far (to feed a growing buffer in steps). */
  fed = 0;

  write(text: string): void {
    this.fed += text.length;
    const chars = [...text];
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (c === '\x1b' && chars[i + 1] === '[') {
        let j = i + 2;
        while (j < chars.length && !/[@-~]/.test(chars[j]!)) j++;
        this.csi(chars.slice(i + 2, j).join(''), chars[j] ?? '');
        i = j;
      } else if (c === '\r') this.col = 0;
      else if (c === '\n') {
        // As a terminal's output does (onlcr): a new line starts at column 0.
        this.row++;
        this.col = 0;
        while (this.lines.length <= this.row) this.lines.push([]);
        this.mostLinesHeld = Math.max(this.mostLinesHeld, this.held());
      } else if (c >= ' ') {
        const line = this.lines[this.row]!;
        while (line.length < this.col) line.push(' ');
        line[this.col] = c;
        this.col++;
        this.widest = Math.max(this.widest, this.col);
      }
    }
    this.mostLinesHeld = Math.max(this.mostLinesHeld, this.held());
  }

  /** The line the cursor is on. */
  get cursorRow(): number {
    return this.row;
  }

  /** Lines holding text now. */
  held(): number {
    return this.lines.filter((l) => l.join('').trim() !== '').length;
  }

  text(): string[] {
    return this.lines.map((l) => l.join('').trimEnd());
  }

  private csi(params: string, final: string): void {
    const n = Number(params || '1');
    if (final === 'F' || final === 'A') {
      this.row = Math.max(0, this.row - n);
      if (final === 'F') this.col = 0;
    } else if (final === 'E' || final === 'B') {
      this.row += n;
      while (this.lines.length <= this.row) this.lines.push([]);
      if (final === 'E') this.col = 0;
    } else if (final === 'K') {
      const line = this.lines[this.row]!;
      if (params === '2') line.length = 0;
      else if (params === '' || params === '0') line.length = Math.min(line.length, this.col);
    } else if (final === 'C') this.col += n;
    else if (final === 'D') this.col = Math.max(0, this.col - n);
    else if (final === 'G') this.col = n - 1;
    else if (final === 'J' && (params === '' || params === '0')) {
      this.lines[this.row]!.length = Math.min(this.lines[this.row]!.length, this.col);
      this.lines.length = this.row + 1;
    }
    // m (colours) and anything else: nothing that moves text.
  }
}
