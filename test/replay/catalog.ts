// The catalog of recorded histories: one folder per recording under test/replay/histories/, each with
// an index.json naming every history file, the workflow it belongs to and what it protects. Written by
// scripts/record-histories.ts, read by test/replay/replay.test.ts. Recordings are never rewritten: a
// workflow change adds a recording (CONTRIBUTING.md), so every older shape of history keeps replaying.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { History } from '@temporalio/common/lib/proto-utils';
import proto from '@temporalio/proto';

export const HISTORIES_DIR = fileURLToPath(new URL('./histories/', import.meta.url));

export interface CatalogEntry {
  /** File name inside the recording's folder. */
  file: string;
  workflowId: string;
  runId: string;
  workflowType: string;
  /** The scenario of scripts/record-histories.ts that produced it. */
  scenario: string;
  /** What replaying it protects (the test is named after this). */
  protects: string;
  events: number;
  /** 1-based run of this workflow id (continue-as-new starts a new run), and how many runs there were. */
  run: number;
  runs: number;
}

export interface Recording {
  /** Folder name, e.g. `2025-06-12-baseline`. */
  recording: string;
  /** The commit whose workflow code produced these histories (`-dirty` when uncommitted changes were in). */
  commit: string;
  recordedAt: string;
  /** What changed in the workflow code since the previous recording (patch ids), for the reader. */
  note: string;
  histories: CatalogEntry[];
}

/** Every recording, oldest first (folder names start with the date). */
export function recordings(dir: string = HISTORIES_DIR): Recording[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'index.json')))
    .map((d) => JSON.parse(readFileSync(join(dir, d.name, 'index.json'), 'utf8')) as Recording)
    .sort((a, b) => a.recording.localeCompare(b.recording));
}

/** The history of one entry, decoded (event ids are Longs, so the replayer takes it as it is). */
export function readHistory(recording: Recording, entry: CatalogEntry, dir: string = HISTORIES_DIR): History {
  return historyFromJson(JSON.parse(readFileSync(join(dir, recording.recording, entry.file), 'utf8')));
}

// ---------------------------------------------------------------------------------------------
// History ⇄ proto3 JSON (the format of `temporal workflow show --output json` and the Web UI download)
//
// Why not historyToJSON/historyFromJSON from @temporalio/common: npm installs a protobufjs 8 copy
// inside each @temporalio package (the top level holds protobufjs 7 for @grpc/proto-loader), and
// common's protojson refuses proto's Types ("type must be a Type"). The protojson of the very copy
// that @temporalio/proto's types come from always matches them, however npm lays the tree out.

interface ProtoJson {
  toJson(type: unknown, message: unknown, options?: object): unknown;
  fromJson(type: unknown, json: unknown, options?: object): unknown;
}

const fromProto = createRequire(createRequire(import.meta.url).resolve('@temporalio/proto'));
const protojson = fromProto('protobufjs/ext/protojson') as ProtoJson;
const HistoryType = proto.temporal.api.history.v1.History;

export function historyToJson(history: History): unknown {
  return protojson.toJson(HistoryType, history);
}

export function historyFromJson(json: unknown): History {
  return protojson.fromJson(HistoryType, json, { ignoreUnknownFields: true }) as History;
}

/** The history's protobuf bytes: equal bytes mean a lossless round trip through JSON. */
export function historyBytes(history: History): Uint8Array {
  return HistoryType.encode(history).finish();
}
