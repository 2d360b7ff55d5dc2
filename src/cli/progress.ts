import type { Writable } from 'node:stream';

/** What the progress line shows. */
export interface ProgressState {
  /** Records accepted so far. */
  accepted: number;
  delivered: number;
  /** Parked or failed so far. */
  undelivered: number;
  elapsedMs: number;
  /** Bytes of input read, and the input's size when known (a file). */
  bytesRead: number;
  totalBytes: number | undefined;
}

const BAR_WIDTH = 24;

/** One line: a bar when the input size is known, then counts and the delivery rate. Pure. */
export function progressLine(s: ProgressState): string {
  const rate = s.elapsedMs > 0 ? Math.round((s.delivered * 1000) / s.elapsedMs) : 0;
  const parts: string[] = [];
  if (s.totalBytes !== undefined && s.totalBytes > 0) {
    const fraction = Math.min(1, s.bytesRead / s.totalBytes);
    const filled = Math.round(fraction * BAR_WIDTH);
    parts.push(`[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`);
  }
  parts.push(`${formatCount(s.accepted)} read`, `${formatCount(s.delivered)} delivered`);
  if (s.undelivered > 0) parts.push(`${formatCount(s.undelivered)} not delivered`);
  parts.push(`${formatCount(rate)} rec/s`, `${(s.elapsedMs / 1000).toFixed(1)} s`);
  return parts.join(' · ');
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Redraws the progress line on a terminal every `intervalMs`; `stop()` erases it so the summary
 * starts on a clean line. Draw only on a TTY: on a pipe or file the carriage returns would be noise.
 */
export class ProgressBar {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: Writable,
    private readonly state: () => ProgressState,
    intervalMs = 100,
  ) {
    this.timer = setInterval(() => this.draw(), intervalMs);
    this.timer.unref();
  }

  private draw(): void {
    this.out.write(`\r\x1b[2K${progressLine(this.state())}`);
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.out.write('\r\x1b[2K');
  }
}
