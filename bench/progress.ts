/**
 * The one-line progress indicator on stderr: rewritten in place on a terminal; elsewhere (a log,
 * CI) only the lines passed with `line()` are printed, so the log stays readable.
 */
export class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private shown = false;

  /** Replaces the live line (terminal only). */
  update(text: string): void {
    if (!this.tty) return;
    const width = process.stderr.columns ?? 120;
    process.stderr.write(`\r\x1b[2K${text.length >= width ? `${text.slice(0, width - 2)}…` : text}`);
    this.shown = true;
  }

  /** Prints a line that stays (on a terminal, above the live line). */
  line(text: string): void {
    this.clear();
    process.stderr.write(`${text}\n`);
  }

  /** Removes the live line. */
  clear(): void {
    if (this.tty && this.shown) process.stderr.write('\r\x1b[2K');
    this.shown = false;
  }
}
