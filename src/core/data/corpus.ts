/** Reading user text files: strict UTF-8, documents separated by blank lines. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { DataError } from './errors.js';

/**
 * The text of a file, refusing what is not UTF-8 text: a missing or empty file, a directory, a NUL byte
 * (binary), or an invalid UTF-8 sequence (the error names its line). A byte-order mark is dropped and CRLF
 * line ends become LF.
 */
export function readUtf8Text(file: string): string {
  if (!existsSync(file)) throw new DataError(`${file}: no such file`);
  if (statSync(file).isDirectory()) throw new DataError(`${file}: is a directory, expected a text file`);
  const bytes = readFileSync(file);
  if (bytes.length === 0) throw new DataError(`${file}: the file is empty`);
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new DataError(`${file}: looks binary (NUL byte at offset ${nul}), expected UTF-8 text`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DataError(
      `${file}:${badUtf8Line(bytes)}: not valid UTF-8 (is it binary, or another encoding?)`,
    );
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text.replace(/\r\n?/g, '\n');
}

/** The 1-based line of the first invalid UTF-8 sequence. */
function badUtf8Line(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    try {
      decoder.decode(bytes.subarray(start, end));
    } catch {
      return line;
    }
    line++;
    start = end + 1;
  }
  return line - 1;
}

/**
 * The documents of a plain-text corpus: paragraphs separated by one or more blank lines, trimmed. Lines
 * within a document keep their newlines.
 */
export function readTextCorpus(file: string): string[] {
  const docs = readUtf8Text(file)
    .split(/\n[ \t]*\n/)
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
  if (docs.length === 0) throw new DataError(`${file}: no text (only blank lines)`);
  return docs;
}
