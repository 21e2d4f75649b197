// Images (stemcells): seeded from region.yml, more uploaded through the API; servers may only use known ones.
import type { Image } from '../domain/cloud';
import type { Db } from './db';
import type { EventLog } from './events';

export class Images {
  readonly #known = new Set<string>();
  readonly #insert;
  readonly #all;
  readonly #remove;
  readonly #events: EventLog;

  constructor(db: Db, events: EventLog, seed: Image[]) {
    this.#events = events;
    this.#insert = db.prepare<[string, string]>(
      'INSERT OR IGNORE INTO images (os, version, n) VALUES (?, ?, (SELECT COUNT(*) FROM images))',
    );
    this.#all = db.prepare<[], Image>('SELECT os, version FROM images ORDER BY n');
    this.#remove = db.prepare<[string, string]>('DELETE FROM images WHERE os = ? AND version = ?');
    for (const image of seed) this.#insert.run(image.os, image.version);
    for (const image of this.list()) this.#known.add(key(image));
  }

  has(image: Image): boolean {
    return this.#known.has(key(image));
  }

  list(): Image[] {
    return this.#all.all();
  }

  /** Adds an image; returns whether it was new. */
  create(image: Image): boolean {
    if (this.has(image)) return false;
    this.#insert.run(image.os, image.version);
    this.#known.add(key(image));
    this.#events.record('image.created', `${image.os}/${image.version}`, {}, { ...image });
    return true;
  }

  /** Removes an image (servers booted from it keep running); returns whether it was known. */
  delete(image: Image): boolean {
    if (!this.has(image)) return false;
    this.#remove.run(image.os, image.version);
    this.#known.delete(key(image));
    this.#events.record('image.deleted', `${image.os}/${image.version}`, {}, { ...image });
    return true;
  }
}

const key = (image: Image): string => `${image.os}\u0000${image.version}`;
