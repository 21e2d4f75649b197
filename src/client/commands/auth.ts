// `converge auth keygen`, `converge auth add-grant`, `converge grant` and `converge whoami`: the
// identities and admin-signed grants the CLI signs its requests with (src/domain/permissions.ts).
import { durationMs } from '../duration';
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { UserError } from '../../domain/errors';
import { EXIT, exitCodesHelp } from '../../domain/exit-codes';
import {
  ANY_POOL,
  PERMISSIONS,
  isPublicKey,
  parseSignedGrant,
  verify,
  grantMessage,
  type Permission,
  type SignedGrant,
} from '../../domain/permissions';
import {
  identityPath,
  newIdentity,
  readIdentity,
  signGrant,
  userIdentityPath,
  writeIdentity,
  type Identity,
} from '../identity';
import { print } from './common';
import { withUserErrors } from '../errors';

const CODES = exitCodesHelp(['ok', 'usage']);

export function registerAuth(program: Command): void {
  const auth = program
    .command('auth')
    .description('Identities: the Ed25519 keys the CLI signs requests with, and their grants');

  auth
    .command('keygen')
    .description('Create an identity (principal name and key pair); prints its public key for an admin')
    .argument('[principal]', 'the name grants and refusals use (default: $USER)')
    .option('-o, --out <file>', `where to write it (default ${userIdentityPath()})`)
    .option('--force', 'replace an existing identity file')
    .addHelpText('after', CODES)
    .action(
      withUserErrors((principal: string | undefined, opts: { out?: string; force?: boolean }) => {
        const name = principal ?? process.env.USER ?? 'user';
        const out = opts.out ?? userIdentityPath();
        if (existsSync(out) && !opts.force) {
          throw new UserError(`${out} exists; pass --force to replace it (its grants are lost)`, EXIT.usage);
        }
        const identity = newIdentity(name);
        writeIdentity(out, identity);
        print(`identity ${name} written to ${out} (owner-only)`);
        print(`public key: ${identity.publicKey}`);
        return Promise.resolve();
      }),
    );

  auth
    .command('add-grant')
    .description('Add a grant (the JSON `converge grant` printed) to your identity')
    .argument('<grant>', 'the signed grant as JSON')
    .option('-i, --identity <file>', 'the identity file (default: as every command finds it)')
    .addHelpText('after', CODES)
    .action(
      withUserErrors((text: string, opts: { identity?: string }) => {
        const path = opts.identity ?? identityPath();
        const identity = mustRead(path);
        const grant = parseGrantText(text);
        if (grant.grant.key !== identity.publicKey) {
          throw new UserError(`that grant is for another key, not ${identity.principal}'s`, EXIT.usage);
        }
        writeIdentity(path, { ...identity, grants: [...identity.grants, grant] });
        print(`added ${describe(grant)} to ${path}`);
        return Promise.resolve();
      }),
    );

  program
    .command('grant')
    .description('As an admin: sign a grant of PERMISSION on resource pool POOL (`*`: every pool)')
    .argument('<principal>', 'who receives it')
    .argument('<permission>', PERMISSIONS.join(' or '))
    .argument('<pool>', `the resource pool, or '${ANY_POOL}'`)
    .option('--admin-key <file>', 'the admin identity file (default $CONVERGE_ADMIN_KEY_FILE)')
    .option('--public-key <hex>', "the principal's public key (from its `converge auth keygen`)")
    .option('--to <identity-file>', 'add the grant to this identity file instead of printing it')
    .option('--expires <when>', 'an ISO date, or a duration such as 30d, 12h (default: never)')
    .addHelpText('after', CODES)
    .action(
      withUserErrors(
        (
          principal: string,
          permission: string,
          pool: string,
          opts: { adminKey?: string; publicKey?: string; to?: string; expires?: string },
        ) => {
          if (!(PERMISSIONS as readonly string[]).includes(permission)) {
            throw new UserError(`permission: expected ${PERMISSIONS.join(' or ')}, got '${permission}'`);
          }
          const adminPath = opts.adminKey ?? process.env.CONVERGE_ADMIN_KEY_FILE?.trim();
          if (!adminPath) throw new UserError('--admin-key: which admin identity signs the grant?');
          const admin = mustRead(adminPath);
          const target = opts.to !== undefined ? mustRead(opts.to) : null;
          const key = target?.publicKey ?? opts.publicKey?.toLowerCase();
          if (key === undefined) throw new UserError('--public-key or --to: whose key is granted?');
          if (!isPublicKey(key)) throw new UserError('--public-key: expected 64 hex digits');
          const grant = signGrant(admin, {
            principal,
            key,
            permission: permission as Permission,
            pool,
            expires: opts.expires === undefined ? null : parseExpiry(opts.expires, Date.now()),
          });
          if (target !== null && opts.to !== undefined) {
            writeIdentity(opts.to, { ...target, grants: [...target.grants, grant] });
            print(`granted ${describe(grant)} (added to ${opts.to})`);
          } else {
            print(JSON.stringify(grant));
          }
          return Promise.resolve();
        },
      ),
    );

  program
    .command('whoami')
    .description('Show the identity requests are signed with, and its grants')
    .option('--admin-public-key <hex>', 'also check each grant against this admin key')
    .addHelpText('after', CODES)
    .action(
      withUserErrors((opts: { adminPublicKey?: string }) => {
        const path = identityPath();
        const identity = readIdentity(path);
        if (identity === null) {
          print(`no identity (looked for ${path}): requests go UNSIGNED.`);
          print('A worker without an admin key accepts them (PERMISSIONS OFF); one with a key refuses them.');
          print("Create one with 'converge auth keygen', or run 'converge dev up' for a local admin.");
          return Promise.resolve();
        }
        print(`principal:  ${identity.principal}`);
        print(`public key: ${identity.publicKey}`);
        print(`identity:   ${path}`);
        if (identity.grants.length === 0) print('grants:     none (every signed request is refused)');
        for (const g of identity.grants) {
          const check = opts.adminPublicKey
            ? verify(g.signature, grantMessage(g.grant), opts.adminPublicKey.toLowerCase())
              ? ' (signature ok)'
              : ' (NOT signed by that admin key)'
            : '';
          print(`grant:      ${describe(g)}${check}`);
        }
        print(
          'Permissions are enforced only by workers started with CONVERGE_ADMIN_PUBLIC_KEY; ' +
            'a worker without one says PERMISSIONS OFF in its start line.',
        );
        return Promise.resolve();
      }),
    );
}

function mustRead(path: string): Identity {
  const identity = readIdentity(path);
  if (identity === null)
    throw new UserError(`no identity at ${path} (create one with 'converge auth keygen')`);
  return identity;
}

function parseGrantText(text: string): SignedGrant {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UserError('grant: not JSON (pass what `converge grant` printed)');
  }
  const grant = parseSignedGrant(raw);
  if (grant === null) throw new UserError('grant: not a signed grant');
  return grant;
}

function describe(g: SignedGrant): string {
  const { principal, permission, pool, expires } = g.grant;
  const until = expires === null ? 'no expiry' : `expires ${new Date(expires).toISOString()}`;
  return `${principal} ${permission} on resource pool '${pool}' (${until})`;
}

/** `30d`, `12h`, `45m` from now, or an ISO date; anything else names the option. */
export function parseExpiry(text: string, now: number): number {
  const ms = durationMs(text);
  if (ms !== null) return now + ms;
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new UserError(`--expires: expected a date or 30d/12h/45m, got '${text}'`);
  if (at <= now) throw new UserError(`--expires: ${text} is in the past`);
  return at;
}
