/** How far a long-running command is. */
export interface ProgressState {
  /** Lines of the input read so far. */
  readonly lines: number;
  /** Records done so far (for an import: answered by the server, or refused before sending). */
  readonly records: number;
  /** Bytes of the input read so far. */
  readonly bytes: number;
}

/** What the whole job is, when known. */
export interface ProgressTotals {
  /** Lines of the input, when cheap to count. */
  readonly lines?: number | undefined;
  /** Size of the input in bytes. */
  readonly bytes?: number | undefined;
}

/** Where and how progress is shown. */
export interface ProgressOptions {
  /** The stream progress goes to (stderr). */
  readonly stream: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };
  /** Word in front of every progress line, e.g. "import". */
  readonly label: string;
  readonly totals: ProgressTotals;
  /** How often a terminal's bar is redrawn (default 200 ms). */
  readonly barIntervalMs: number;
  /** How often a plain line is printed when the stream is not a terminal (default 5,000 ms). */
  readonly lineIntervalMs: number;
  /** Epoch ms (default Date.now). */
  readonly now: () => number;
}

/** A progress display fed with the current state. */
export interface Progress {
  /** Notes where the job is; the display picks it up at its next tick. */
  update(state: ProgressState): void;
  /** Stops the display and prints the last state. */
  finish(state: ProgressState): void;
  /** Stops the display without a last word (the job failed and says why itself). */
  stop(): void;
}

const DEFAULTS = { barIntervalMs: 200, lineIntervalMs: 5_000, now: Date.now };

/**
 * A progress bar redrawn in place on a terminal, or a plain line every few
 * seconds otherwise (logs, CI, a pipe), so output stays readable in both.
 */
export function createProgress(options: Pick<ProgressOptions, "stream" | "label" | "totals"> & Partial<ProgressOptions>): Progress {
  const { stream, label, totals, barIntervalMs, lineIntervalMs, now } = { ...DEFAULTS, ...options };
  const tty = stream.isTTY === true;
  const startMs = now();
  let state: ProgressState = { lines: 0, records: 0, bytes: 0 };
  let drawn = false;
  const draw = (): void => {
    drawn = true;
    const elapsedMs = now() - startMs;
    if (tty) stream.write(`\r${formatProgressBar(label, state, totals, elapsedMs, stream.columns || 80)}\u001b[K`);
    else stream.write(`${formatProgressLine(label, state, totals, elapsedMs)}\n`);
  };
  const timer = setInterval(draw, tty ? barIntervalMs : lineIntervalMs);
  timer.unref();
  return {
    update(next) {
      state = next;
    },
    finish(last) {
      clearInterval(timer);
      state = last;
      draw();
      if (tty) stream.write("\n");
    },
    stop() {
      clearInterval(timer);
      // Leave the terminal's line to the message that follows.
      if (tty && drawn) stream.write("\n");
    },
  };
}

/** Records per second, whole. */
export function ratePerSecond(count: number, elapsedMs: number): number {
  return elapsedMs <= 0 ? 0 : Math.round((count * 1000) / elapsedMs);
}

/** The share done in [0, 1], by lines when their total is known, else by bytes; undefined when neither is. */
export function fractionDone(state: ProgressState, totals: ProgressTotals): number | undefined {
  if (totals.lines) return Math.min(1, state.lines / totals.lines);
  if (totals.bytes) return Math.min(1, state.bytes / totals.bytes);
  return undefined;
}

/** e.g. "import [#########-----------]  45%  45,000/100,000 lines  31,204 records/s  ETA 2 s". */
export function formatProgressBar(label: string, state: ProgressState, totals: ProgressTotals, elapsedMs: number, columns: number): string {
  const fraction = fractionDone(state, totals);
  const rate = ratePerSecond(state.records, elapsedMs);
  const lines = totals.lines ? `${count(state.lines)}/${count(totals.lines)} lines` : `${count(state.lines)} lines`;
  const eta = fraction !== undefined && fraction > 0 && fraction < 1 ? `  ETA ${Math.ceil((elapsedMs * (1 - fraction)) / fraction / 1000)} s` : "";
  const tail = `${fraction === undefined ? "" : `${String(Math.floor(fraction * 100)).padStart(3)}%  `}${lines}  ${count(rate)} records/s${eta}`;
  const barWidth = Math.max(0, Math.min(30, columns - label.length - tail.length - 6));
  if (fraction === undefined || barWidth < 5) return `${label}  ${tail}`.slice(0, Math.max(columns - 1, 0));
  const filled = Math.round(fraction * barWidth);
  return `${label} [${"#".repeat(filled)}${"-".repeat(barWidth - filled)}] ${tail}`;
}

/** e.g. "import: 45000/100000 lines (45%), 45000 records, 31204 records/s". */
export function formatProgressLine(label: string, state: ProgressState, totals: ProgressTotals, elapsedMs: number): string {
  const fraction = fractionDone(state, totals);
  const lines = totals.lines ? `${state.lines}/${totals.lines} lines` : `${state.lines} lines`;
  const percent = fraction === undefined ? "" : ` (${Math.floor(fraction * 100)}%)`;
  return `${label}: ${lines}${percent}, ${state.records} records, ${ratePerSecond(state.records, elapsedMs)} records/s`;
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}
