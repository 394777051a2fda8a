/**
 * The activation store: one SQLite file per project (better-sqlite3, WAL mode), with a versioned schema.
 *
 * Opening a file checks, before anything can change it, that it is a Monoscope store: a SQLite header, a
 * page count that fits the file (a truncated copy is refused), `PRAGMA application_id` = 'MONO' (a foreign
 * SQLite file is refused) and a `user_version` this code knows (a file from a newer Monoscope is refused and
 * left byte-for-byte as it was). Then the numbered migrations in `migrations/NNN_name.sql` that the file
 * lacks run, each in one transaction that also sets `user_version`.
 *
 * Writers use short `BEGIN IMMEDIATE` transactions and a busy timeout, so the app and the CLI can write
 * to one store at the same time; `synchronous = NORMAL` in WAL mode keeps every committed transaction
 * across a crash of the process (a power cut may lose the last few).
 */
import {
  accessSync,
  constants,
  existsSync,
  openSync,
  readSync,
  closeSync,
  statSync,
  readdirSync,
  readFileSync,
} from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { RunsRepo } from './runs.js';
import { CheckpointsRepo } from './checkpoints.js';
import { ProbesRepo } from './probes.js';
import { ActivationsRepo } from './activations.js';
import { AnalysesRepo, FiguresRepo } from './analyses.js';

/** `PRAGMA application_id` of a Monoscope store: 'MONO' in ASCII. */
export const APPLICATION_ID = 0x4d4f4e4f;

export type StoreErrorCode =
  | 'not-found'
  | 'not-sqlite'
  | 'truncated'
  | 'corrupt'
  | 'foreign'
  | 'newer-schema'
  | 'needs-migration'
  | 'full'
  | 'busy'
  | 'invalid'
  | 'incomplete'
  | 'locked'
  | 'read-only';

/** An error about a store file, with a code a caller can branch on and a message that names the file. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface OpenStoreOptions {
  /**
   * Open without writing (the file must exist and be at the current schema). A store whose file or folder
   * this process may not write is opened read-only anyway, and its writes say why they are refused.
   */
  readonly?: boolean;
  /** Path of a better-sqlite3 `.node` addon built for this runtime's ABI (Electron differs from Node). */
  nativeBinding?: string;
  /** How long a writer waits for another writer's lock, ms (default 10,000). */
  busyTimeoutMs?: number;
}

/** What every repository shares: the connection, the file name and the write-transaction helper. */
export interface StoreContext {
  readonly db: Database.Database;
  readonly file: string;
  readonly readonly: boolean;
  /** Runs `fn` in one `BEGIN IMMEDIATE` transaction (nested calls become savepoints); see {@link Store.write}. */
  write<T>(fn: () => T): T;
}

export interface Store extends StoreContext {
  readonly schemaVersion: number;
  /** The options it was opened with (a worker thread reopens the file with them). */
  readonly options: OpenStoreOptions;
  readonly runs: RunsRepo;
  readonly checkpoints: CheckpointsRepo;
  readonly probes: ProbesRepo;
  readonly activations: ActivationsRepo;
  readonly analyses: AnalysesRepo;
  readonly figures: FiguresRepo;
  /** `PRAGMA integrity_check`: `['ok']` for a sound file, else SQLite's list of problems. */
  integrityCheck(): string[];
  /** Copies the WAL into the main file (for size measurements and before copying the file). */
  checkpointWal(): void;
  close(): void;
}

interface Migration {
  version: number;
  name: string;
  sql: string;
}

let migrationsCache: Migration[] | null = null;

/**
 * The folder of the numbered migrations: `migrations/` beside this module, or, when running compiled code
 * (tsc copies no `.sql` files), `src/core/store/migrations` in the nearest folder above that has one.
 */
function migrationsDir(): string {
  const here = fileURLToPath(new URL('./migrations/', import.meta.url));
  if (existsSync(here)) return here;
  for (let dir = resolve(here, '..'); ; dir = resolve(dir, '..')) {
    const candidate = join(dir, 'src', 'core', 'store', 'migrations');
    if (existsSync(candidate)) return candidate;
    if (resolve(dir, '..') === dir) break;
  }
  throw new Error(
    `store migrations not found: no ${here} and no src/core/store/migrations above it (ship that folder with the build)`,
  );
}

/** The numbered migrations (`NNN_name.sql`, numbers 1, 2, 3, ... without gaps), read once. */
export function loadMigrations(): Migration[] {
  if (migrationsCache) return migrationsCache;
  const dir = migrationsDir();
  const out: Migration[] = [];
  for (const f of readdirSync(dir).sort()) {
    const m = /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(f);
    if (!m) continue;
    out.push({ version: Number(m[1]), name: f, sql: readFileSync(join(dir, f), 'utf8') });
  }
  out.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${join(dir, m.name)}: expected migration number ${i + 1}`);
  });
  if (out.length === 0) throw new Error(`${dir}: no migrations`);
  migrationsCache = out;
  return out;
}

/** The schema version this code writes: the number of the last migration. */
export function latestSchemaVersion(): number {
  return loadMigrations().length;
}

/** The 100-byte SQLite header, or fewer bytes for a shorter file. */
function readHeader(file: string): { head: Buffer; n: number } {
  const head = Buffer.alloc(100);
  const fd = openSync(file, 'r');
  try {
    return { head, n: readSync(fd, head, 0, 100, 0) };
  } finally {
    closeSync(fd);
  }
}

/** The page count and page size the header gives (pages 0 when its page count is not valid). */
function headerBytes(head: Buffer): { pages: number; pageSize: number } {
  const rawPage = head.readUInt16BE(16);
  const pageSize = rawPage === 1 ? 65536 : rawPage;
  const changeCounter = head.readUInt32BE(24);
  const pages = head.readUInt32BE(28);
  const validFor = head.readUInt32BE(92);
  return { pages: validFor === changeCounter ? pages : 0, pageSize };
}

/** Bytes of the store's write-ahead log beyond its 32-byte header (0 when there is none). */
function walFrameBytes(file: string): number {
  try {
    return Math.max(0, statSync(`${file}-wal`).size - 32);
  } catch {
    return 0;
  }
}

/**
 * Refuses files that are not SQLite or are shorter than their header says. Another connection's WAL
 * checkpoint (a study's cell workers share the store) copies page 1, with the new page count, before the
 * pages that grow the file, so a file shorter than its header is normal while the log holds frames and the
 * file is still growing: it is read again until it fits, and called truncated only when there is no log to
 * copy from, or the file has stopped growing for 5 s (60 s at most).
 */
function checkHeader(file: string): void {
  const started = Date.now();
  let lastSize = -1;
  let grewAt = started;
  for (;;) {
    const { head, n } = readHeader(file);
    if (n < 100 || head.toString('latin1', 0, 16) !== 'SQLite format 3\0') {
      throw new StoreError(
        'not-sqlite',
        `${file}: not a Monoscope store (not a SQLite database: the file does not start with the SQLite header)`,
      );
    }
    const { pages, pageSize } = headerBytes(head);
    // The size after the header: a checkpoint that wrote this header has begun to grow the file.
    const size = statSync(file).size;
    if (pages === 0 || size >= pages * pageSize) return;
    const now = Date.now();
    if (size !== lastSize) [lastSize, grewAt] = [size, now];
    if (walFrameBytes(file) === 0 || now - grewAt > 5_000 || now - started > 60_000) {
      throw new StoreError(
        'truncated',
        `${file}: the store is truncated: its header says ${pages} pages of ${pageSize} bytes (${pages * pageSize} bytes) but the file has ${size} bytes. Restore it from a backup copy.`,
      );
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

interface FileIdentity {
  applicationId: number;
  userVersion: number;
  objects: string[];
}

/** Opens the file read-only and reads what it is, translating SQLite's errors into ones that name the file. */
function identify(file: string, nativeBinding: string | undefined): FileIdentity {
  let probe: Database.Database | undefined;
  try {
    probe = new Database(file, { readonly: true, fileMustExist: true, nativeBinding });
    const applicationId = (probe.pragma('application_id', { simple: true }) as number) >>> 0;
    const userVersion = probe.pragma('user_version', { simple: true }) as number;
    const objects = probe
      .prepare(`SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' LIMIT 8`)
      .pluck()
      .all() as string[];
    return { applicationId, userVersion, objects };
  } catch (e) {
    if (e instanceof StoreError) throw e;
    if (
      (e as { code?: string }).code === 'SQLITE_READONLY_DIRECTORY' ||
      (e as { code?: string }).code === 'SQLITE_CANTOPEN'
    )
      throw new StoreError(
        'read-only',
        `${file}: cannot read the store: its folder is read-only and SQLite needs to create the store's -shm file there (the store was left in WAL mode); open it once where it can be written, or copy the project somewhere writable`,
      );
    throw new StoreError(
      'corrupt',
      `${file}: cannot read the store (${(e as Error).message}); the file is corrupt or not a SQLite database`,
    );
  } finally {
    probe?.close();
  }
}

/**
 * Opens (or creates) a store file and brings its schema up to date. Throws a {@link StoreError} naming the
 * file when it is missing (read-only), not SQLite, truncated, corrupt, foreign, or from a newer Monoscope.
 */
export function openStore(file: string, opts: OpenStoreOptions = {}): Store {
  const denied = writeDenied(file);
  const readonly = (opts.readonly ?? false) || denied !== undefined;
  const latest = latestSchemaVersion();
  let fresh = false;
  if (!existsSync(file)) {
    if (denied) throw new StoreError('read-only', `${file}: cannot create the store: ${denied}`);
    if (readonly) throw new StoreError('not-found', `${file}: no such store`);
    fresh = true;
  } else {
    const size = statSync(file).size;
    if (size === 0) {
      if (readonly) throw new StoreError('not-found', `${file}: the store is empty`);
      fresh = true;
    } else {
      checkHeader(file);
      const id = identify(file, opts.nativeBinding);
      if (id.applicationId !== APPLICATION_ID) {
        if (id.applicationId !== 0 || id.userVersion !== 0 || id.objects.length > 0) {
          const hex = `0x${id.applicationId.toString(16).padStart(8, '0')}`;
          const what = id.objects.length
            ? `tables: ${id.objects.join(', ')}`
            : `user_version ${id.userVersion}`;
          throw new StoreError(
            'foreign',
            `${file}: not a Monoscope store (a SQLite database with application_id ${hex}, ${what})`,
          );
        }
        fresh = true; // an empty SQLite database: ours to initialise
      } else if (id.userVersion > latest) {
        throw new StoreError(
          'newer-schema',
          `${file}: this store has schema version ${id.userVersion}, but this Monoscope knows versions up to ${latest}. It was written by a newer Monoscope: upgrade to open it. The file was not modified.`,
        );
      } else if (readonly && id.userVersion < latest) {
        throw new StoreError(
          'needs-migration',
          `${file}: this store has schema version ${id.userVersion} and needs upgrading to ${latest}; open it once for writing${denied ? ` (it cannot be written now: ${denied})` : ''}`,
        );
      }
    }
  }
  if (fresh && denied) throw new StoreError('read-only', `${file}: cannot initialise the store: ${denied}`);
  if (fresh && readonly) throw new StoreError('not-found', `${file}: not initialised`);

  let db: Database.Database;
  try {
    db = new Database(file, {
      readonly,
      nativeBinding: opts.nativeBinding,
      timeout: opts.busyTimeoutMs ?? 10_000,
    });
  } catch (e) {
    throw new StoreError('corrupt', `${file}: cannot open the store: ${(e as Error).message}`);
  }
  nameFileInErrors(db, file);
  try {
    if (!readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    db.pragma('cache_size = -32768'); // 32 MiB page cache
    // sha256(text) in hex, for migrations that compute analysis keys (see analyses.ts `analysisKey`).
    db.function('sha256', { deterministic: true }, (text) =>
      createHash('sha256').update(String(text)).digest('hex'),
    );
    const ctx = makeContext(db, file, readonly, denied);
    if (!readonly) migrate(ctx, latest);
    const schemaVersion = db.pragma('user_version', { simple: true }) as number;
    const store: Store = {
      ...ctx,
      schemaVersion,
      options: { ...opts },
      runs: new RunsRepo(ctx),
      checkpoints: new CheckpointsRepo(ctx),
      probes: new ProbesRepo(ctx),
      activations: undefined as unknown as ActivationsRepo,
      analyses: new AnalysesRepo(ctx),
      figures: new FiguresRepo(ctx),
      integrityCheck: () =>
        (db.pragma('integrity_check') as Record<string, string>[]).map((r) => Object.values(r)[0]),
      checkpointWal: () => {
        if (!readonly) db.pragma('wal_checkpoint(TRUNCATE)');
      },
      close: () => {
        if (!readonly) leaveWalMode(db);
        db.close();
      },
    };
    (store as { activations: ActivationsRepo }).activations = new ActivationsRepo(ctx, store.probes);
    return store;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** Why this process may not write the store file or its folder (SQLite writes `-wal` and `-shm` there). */
function writeDenied(file: string): string | undefined {
  for (const path of existsSync(file) ? [dirname(file), file] : [dirname(file)]) {
    try {
      accessSync(path, constants.W_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      return `${path} is read-only (${code})`;
    }
  }
  return undefined;
}

/**
 * Switches a store back from WAL to a rollback journal when this is its last connection (SQLite refuses
 * while another connection has it open; it then stays in WAL until that one closes). A store left so has
 * no `-wal` or `-shm` companion, and can be read where its folder cannot be written: a WAL store there
 * cannot be opened, since every reader must create the `-shm` file.
 */
function leaveWalMode(db: Database.Database): void {
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('journal_mode = DELETE');
  } catch {
    // Another connection is open: it leaves WAL mode when it closes.
  }
}

function makeContext(
  db: Database.Database,
  file: string,
  readonly: boolean,
  denied: string | undefined,
): StoreContext {
  return {
    db,
    file,
    readonly,
    write<T>(fn: () => T): T {
      if (readonly)
        throw new StoreError(
          'read-only',
          `${file}: cannot write: ${denied ?? 'the store is open read-only'}; nothing was written`,
        );
      try {
        return db.transaction(fn).immediate();
      } catch (e) {
        throw translateSqliteError(file, e);
      }
    },
  };
}

/**
 * Makes the statements of `db` throw {@link translateSqliteError}'s errors, which name the store file, when
 * running or iterating them fails (a page found corrupt while reading, a full disk).
 */
function nameFileInErrors(db: Database.Database, file: string): void {
  const translated =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      try {
        return fn(...args);
      } catch (e) {
        throw translateSqliteError(file, e);
      }
    };
  const wrap = (stmt: Database.Statement): Database.Statement => {
    const proxy: Database.Statement = new Proxy(stmt, {
      get(target, key) {
        const v = Reflect.get(target, key, target) as unknown;
        if (typeof v !== 'function') return v;
        return translated((...args: unknown[]) => {
          const r = (v as (...a: unknown[]) => unknown).apply(target, args);
          if (r === target) return proxy; // pluck(), raw(), bind(), ... chain
          if (key === 'iterate') {
            const it = r as IterableIterator<unknown>;
            const iterator: IterableIterator<unknown> = {
              next: translated(() => it.next()),
              return: it.return?.bind(it),
              [Symbol.iterator]: () => iterator,
            };
            return iterator;
          }
          return r;
        });
      },
    });
    return proxy;
  };
  const prepare = db.prepare.bind(db);
  (db as { prepare: (sql: string) => Database.Statement }).prepare = translated((sql: string) =>
    wrap(prepare(sql)),
  );
}

/** Turns SQLite's full-disk, busy and corruption errors into {@link StoreError}s that say what to do. */
export function translateSqliteError(file: string, e: unknown): unknown {
  const code = (e as { code?: string }).code;
  if (code === 'SQLITE_FULL') {
    return new StoreError(
      'full',
      `${file}: the disk (or the store's size limit) is full; the transaction was rolled back and nothing of it was written. Free some space and try again.`,
    );
  }
  if (code === 'SQLITE_BUSY') {
    return new StoreError(
      'busy',
      `${file}: the store stayed locked by another writer longer than the busy timeout; try again`,
    );
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    return new StoreError('corrupt', `${file}: the store is corrupt (${(e as Error).message})`);
  }
  return e;
}

function migrate(ctx: StoreContext, latest: number): void {
  const current = ctx.db.pragma('user_version', { simple: true }) as number;
  if (current >= latest) return;
  for (const m of loadMigrations()) {
    ctx.write(() => {
      // Re-read inside the lock: another process may have migrated meanwhile.
      const v = ctx.db.pragma('user_version', { simple: true }) as number;
      if (v >= m.version) return;
      if (v !== m.version - 1)
        throw new StoreError('invalid', `${ctx.file}: schema version ${v} cannot take migration ${m.name}`);
      try {
        ctx.db.exec(m.sql);
      } catch (e) {
        throw new Error(`${ctx.file}: migration ${m.name} failed: ${(e as Error).message}`);
      }
      ctx.db.pragma(`user_version = ${m.version}`);
    });
  }
}

/** The current time as an ISO-8601 string, the format of every `*_at` column. */
export function nowIso(): string {
  return new Date().toISOString();
}
