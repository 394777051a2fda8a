/** The error every data reader throws for bad input: its message names the file (and line) at fault. */

/** One problem in a data file, at a 1-based line (0 when it concerns the whole file). */
export interface DataProblem {
  file: string;
  line: number;
  reason: string;
}

/** Bad user data. `message` is `file:line: reason` (one line per problem, up to 10), `problems` all of them. */
export class DataError extends Error {
  constructor(
    message: string,
    readonly problems: DataProblem[] = [],
  ) {
    super(message);
    this.name = 'DataError';
  }

  /** A DataError listing `problems` (the first 10 in the message, then a count of the rest). */
  static fromProblems(problems: DataProblem[]): DataError {
    const shown = problems
      .slice(0, 10)
      .map((p) => (p.line > 0 ? `${p.file}:${p.line}: ${p.reason}` : `${p.file}: ${p.reason}`));
    const more = problems.length > 10 ? [`... and ${problems.length - 10} more bad lines`] : [];
    const head = problems.length > 1 ? [`${problems.length} bad lines in ${problems[0].file}:`] : [];
    return new DataError([...head, ...shown, ...more].join('\n'), problems);
  }
}
