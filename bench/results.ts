/**
 * Raw results as JSON lines: one object per trial or sample, appended as soon as it is known
 * (an interrupted run keeps what it measured), plus the run's metadata as the first line.
 *
 * @module
 */

/** One result line. `suite` and `kind` say what it is; the rest depends on them. */
export interface ResultRecord {
  /** `failover`, `false`, `cost`, `scale` or `run`. */
  suite: string;
  /** Record kind within the suite (`trial`, `softstop`, `window`, `sample`, `meta`, …). */
  kind: string;
  /** Any further fields. */
  [key: string]: unknown;
}

/** Appends records to a `.jsonl` file and keeps them in memory for the report. */
export class Recorder {
  /** Path of the JSON-lines file. */
  readonly path: string;
  /** Every record written, in order. */
  readonly records: ResultRecord[] = [];
  readonly #file: Deno.FsFile;
  readonly #encoder = new TextEncoder();

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /** Creates (truncates) `path`, making its directory. */
  static async open(path: string): Promise<Recorder> {
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")) || ".", { recursive: true });
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    return new Recorder(path, file);
  }

  /** Writes one record (with a wall-clock `time` added) and keeps it. */
  async write(rec: ResultRecord): Promise<void> {
    const full = { time: new Date().toISOString(), ...rec };
    this.records.push(full);
    await this.#file.write(this.#encoder.encode(JSON.stringify(full) + "\n"));
  }

  /** Records of one suite and kind. */
  select(suite: string, kind: string): ResultRecord[] {
    return this.records.filter((r) => r.suite === suite && r.kind === kind);
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}
