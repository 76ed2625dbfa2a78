import { Presets, SingleBar } from 'cli-progress';

/**
 * What `submit` shows on stderr while it works: a bar when there are many
 * files (drawn only on a terminal), status lines when there is one.
 */
export interface Progress {
  /** A phase of `total` steps begins: uploading, then waiting. */
  begin(phase: string, total: number): void;
  /** One step of the phase is done; `counts` is shown beside the bar. */
  step(counts?: string): void;
  /** A status line (for one file: each change of its job's status). */
  line(text: string): void;
  end(): void;
}

export function progressFor(files: number, stderr: NodeJS.WriteStream): Progress {
  if (files === 1) return new StatusLines(stderr);
  return stderr.isTTY ? new Bar(stderr) : SILENT;
}

const SILENT: Progress = { begin() {}, step() {}, line() {}, end() {} };

class StatusLines implements Progress {
  constructor(private readonly stream: NodeJS.WritableStream) {}
  begin(): void {}
  step(): void {}
  line(text: string): void {
    this.stream.write(`${text}\n`);
  }
  end(): void {}
}

class Bar implements Progress {
  private bar: SingleBar | null = null;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  begin(phase: string, total: number): void {
    this.end();
    this.bar = new SingleBar(
      { stream: this.stream, format: `${phase.padEnd(9)} |{bar}| {value}/{total} {counts}`, hideCursor: true, barsize: 30 },
      Presets.shades_classic,
    );
    this.bar.start(total, 0, { counts: '' });
  }

  step(counts = ''): void {
    this.bar?.increment(1, { counts });
  }

  line(): void {}

  end(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
