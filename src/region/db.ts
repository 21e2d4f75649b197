// The region's SQLite file: every server, allocation, volume, image and event lives here, so a
// restarted region picks up exactly where it stopped (including pending BUILD/DELETING deadlines).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

// `n` is the row's creation order: it drives paging cursors and MAC addresses (AUTOINCREMENT never reuses).
// Tags live in (n, k, v) tables indexed by (k, v, n), so "everything with tag k=v after cursor c" is one
// index range scan regardless of how many other rows exist.
// *_keys tables remember idempotency keys after their row is gone, so a replay can answer 410.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS servers (
  n INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  cpus INTEGER NOT NULL,
  memory_mb INTEGER NOT NULL,
  disk_gb INTEGER NOT NULL,
  image_os TEXT NOT NULL,
  image_version TEXT NOT NULL,
  az TEXT NOT NULL,
  network TEXT NOT NULL,
  ip TEXT NOT NULL,
  ip_num INTEGER NOT NULL,
  mac TEXT NOT NULL UNIQUE,
  user_data TEXT,
  created_at TEXT NOT NULL,
  next_state TEXT,
  transition_at INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS servers_ip ON servers(network, ip_num);
CREATE INDEX IF NOT EXISTS servers_due ON servers(transition_at) WHERE transition_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS server_tags (n INTEGER NOT NULL, k TEXT NOT NULL, v TEXT NOT NULL, PRIMARY KEY (n, k)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS server_tags_kv ON server_tags(k, v, n);
CREATE TABLE IF NOT EXISTS server_keys (key TEXT PRIMARY KEY, id TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS allocations (
  n INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  key TEXT NOT NULL,
  pool TEXT NOT NULL,
  cpus INTEGER NOT NULL,
  memory_mb INTEGER NOT NULL,
  instances INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS allocations_pool ON allocations(pool);
CREATE TABLE IF NOT EXISTS allocation_tags (n INTEGER NOT NULL, k TEXT NOT NULL, v TEXT NOT NULL, PRIMARY KEY (n, k)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS allocation_tags_kv ON allocation_tags(k, v, n);
CREATE TABLE IF NOT EXISTS allocation_keys (key TEXT PRIMARY KEY, id TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS volumes (
  n INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  pool TEXT NOT NULL,
  size_gb INTEGER NOT NULL,
  server_id TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS volumes_pool ON volumes(pool);
CREATE INDEX IF NOT EXISTS volumes_server ON volumes(server_id) WHERE server_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS volume_tags (n INTEGER NOT NULL, k TEXT NOT NULL, v TEXT NOT NULL, PRIMARY KEY (n, k)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS volume_tags_kv ON volume_tags(k, v, n);
CREATE TABLE IF NOT EXISTS volume_keys (key TEXT PRIMARY KEY, id TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS images (os TEXT NOT NULL, version TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (os, version)) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  at TEXT NOT NULL,
  subject TEXT NOT NULL,
  tags TEXT NOT NULL,
  data TEXT NOT NULL
);
`;

export function openDb(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // WAL + NORMAL: durable across process crashes (what the tests kill), not across power loss.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  return db;
}
