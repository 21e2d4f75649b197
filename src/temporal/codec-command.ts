// `converge codec-server`: the Temporal UI's remote codec, decoding payloads with this machine's keys.
import type { Command } from 'commander';
import { UserError } from '../domain/errors';
import { DEFAULT_UI_PORT, envHelp } from './connection';
import { exitCodesHelp } from '../domain/exit-codes';
import { KEY_FILE_VARIABLE, KEYS_VARIABLE } from './payload-keys';

interface CodecServerFlags {
  port: string;
  uiOrigin?: string[];
}

export function registerCodecServer(program: Command): void {
  program
    .command('codec-server')
    .description(
      "Serve Temporal's /encode and /decode on 127.0.0.1 so the UI shows encrypted payloads decoded",
    )
    .option('--port <port>', 'port to listen on (0 picks a free one)', '8888')
    .option(
      '--ui-origin <origin>',
      'an origin allowed by CORS, repeatable (default: the dev UI, http://127.0.0.1:CONVERGE_UI_PORT and localhost)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .addHelpText(
      'after',
      [
        envHelp('Keys (environment)', [
          [KEYS_VARIABLE, 'id1:base64key,id2:base64key (newest last; it encrypts, all decrypt)'],
          [KEY_FILE_VARIABLE, 'a file of id:base64key lines, newest last'],
          [
            '',
            "neither set: the dev stack's key file (.converge/payload.keys), if `converge dev up` made one",
          ],
        ]),
        '\nThen: temporal server start-dev --ui-codec-endpoint http://127.0.0.1:PORT',
        exitCodesHelp(['ok', 'usage'], {
          ok: 'stopped by SIGINT or SIGTERM',
          usage: 'a bad flag, no key configured, or the port in use',
        }),
      ].join('\n'),
    )
    .action(async (flags: CodecServerFlags) => {
      try {
        await run(flags);
      } catch (err) {
        process.stderr.write(`converge codec-server: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = err instanceof UserError ? err.exitCode : 1;
      }
    });
}

async function run(flags: CodecServerFlags): Promise<void> {
  const port = Number(flags.port);
  if (!/^\d+$/.test(flags.port) || port > 65535) {
    throw new UserError(`--port: expected 0-65535, got ${flags.port}`);
  }
  const [{ payloadCodecsFromEnv }, { clientPayloadKeyEnv, payloadKeysFromEnv }, { serveCodec }] =
    await Promise.all([import('./data-converter'), import('./payload-keys'), import('./codec-server')]);
  // The CLI's keys: the environment's, else the dev stack's key file (as every other command).
  const env = clientPayloadKeyEnv(process.env);
  if (payloadKeysFromEnv(env).length === 0) {
    throw new UserError(`no payload key configured: set ${KEYS_VARIABLE} or ${KEY_FILE_VARIABLE}`);
  }
  const uiPort = process.env.CONVERGE_UI_PORT?.trim() || String(DEFAULT_UI_PORT);
  const origins = flags.uiOrigin ?? [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`];
  let server;
  try {
    server = await serveCodec({ codecs: payloadCodecsFromEnv(env), port, origins });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UserError(`--port: 127.0.0.1:${port} is in use`);
    throw err;
  }
  console.log(`converge codec server on http://127.0.0.1:${server.port} (CORS: ${origins.join(', ')})`);
  const stop = (): void => {
    void server.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
