// Puts the region together: SQLite file, seed config, stores, lifecycle timer and the HTTP front.
import type { AddressInfo } from 'node:net';
import type { Faults } from '../cloud/port';
import { Allocations } from './allocations';
import type { RegionConfig } from './config';
import { openDb } from './db';
import { EventLog } from './events';
import { DEFAULT_FAULTS } from './faults';
import { createFront } from './http';
import { Images } from './images';
import { Lifecycle } from './lifecycle';
import { routes } from './routes';
import { Servers } from './servers';
import { Volumes } from './volumes';

export interface RegionOptions {
  dbPath: string;
  config: RegionConfig;
  token: string;
  /** 0 picks a free port. */
  port: number;
  faults?: Partial<Faults>;
  log?: (line: string) => void;
}

export interface RunningRegion {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function serveRegion(options: RegionOptions): Promise<RunningRegion> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let faults: Faults = { ...DEFAULT_FAULTS, ...options.faults };
  const db = openDb(options.dbPath);
  const events = new EventLog(db);
  const images = new Images(db, events, options.config.images);
  const servers = new Servers(db, options.config, events, images, () => faults);
  const allocations = new Allocations(db, options.config, events, (id) => servers.allocationInUse(id));
  const volumes = new Volumes(db, options.config, events, (id) => servers.stateOf(id));
  servers.onGone = (id) => volumes.detachAllFrom(id);
  const lifecycle = new Lifecycle(servers);
  servers.onDeadline = (at) => lifecycle.poke(at);
  lifecycle.start();

  const front = createFront({
    token: options.token,
    faults: () => faults,
    beforeEach: () => lifecycle.catchUp(),
    log,
    routes: routes({
      servers,
      allocations,
      volumes,
      images,
      events,
      topology: () => ({
        azs: [...options.config.azs],
        networks: options.config.networks.map((n) => ({
          name: n.name,
          subnets: n.subnets.map((sub) => ({
            range: sub.range,
            static: [...sub.static],
            azs: sub.azs ?? null,
          })),
        })),
      }),
      faults: {
        get: () => ({ ...faults }),
        set: (patch) => {
          faults = { ...faults, ...patch };
          return { ...faults };
        },
      },
    }),
  });

  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(options.port, '127.0.0.1', () => {
      front.off('error', reject);
      resolve();
    });
  });
  const port = (front.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      lifecycle.stop();
      front.close(() => {
        db.close();
        resolve();
      });
      front.closeIdleConnections();
      // In-flight requests get a moment; then every socket goes.
      setTimeout(() => front.closeAllConnections(), 1000).unref();
    });
    return closing;
  };
  return { url: `http://127.0.0.1:${port}`, port, close };
}
