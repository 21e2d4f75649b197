// What a namespace lacks for Converge and what to tell whoever must fix it. The operator calls that
// feed these run against a real dev server in test/integration/namespace-setup.test.ts.
import { describe, expect, it } from 'vitest';
import proto from '@temporalio/proto';
import { describePreparation } from '../../../src/client/commands/namespace';
import { typeName } from '../../../src/temporal/namespace-setup';
import {
  isReady,
  isTemporalCloud,
  namespaceGaps,
  notReadyMessage,
  registerCommand,
  searchAttributeArgs,
} from '../../../src/temporal/search-attributes';

const selfHosted = { namespace: 'teamb', address: 'temporal.internal:7233' };
const cloud = { namespace: 'teamb.a1b2c', address: 'teamb.a1b2c.tmprl.cloud:7233' };

describe('namespaceGaps', () => {
  it('an empty namespace lacks all three, in a stable order', () => {
    const gaps = namespaceGaps(new Map());
    expect(gaps).toEqual({
      missing: ['ConvergeDeployment', 'ConvergeOperation', 'ConvergePhase'],
      clashes: [],
    });
    expect(isReady(gaps)).toBe(false);
  });

  it('a namespace with all three as Keyword is ready, whatever else it has', () => {
    const gaps = namespaceGaps(
      new Map([
        ['ConvergePhase', 'Keyword'],
        ['CustomerId', 'Int'],
        ['ConvergeDeployment', 'Keyword'],
        ['ConvergeOperation', 'Keyword'],
      ]),
    );
    expect(isReady(gaps)).toBe(true);
  });

  it('one registered with another type is a clash, not a missing one', () => {
    const gaps = namespaceGaps(
      new Map([
        ['ConvergeDeployment', 'Keyword'],
        ['ConvergePhase', 'Text'],
      ]),
    );
    expect(gaps).toEqual({
      missing: ['ConvergeOperation'],
      clashes: [{ name: 'ConvergePhase', registered: 'Text' }],
    });
  });
});

describe('isTemporalCloud', () => {
  it.each([
    ['teamb.a1b2c.tmprl.cloud:7233', true],
    ['eu-west-1.aws.api.temporal.io:7233', true],
    ['TEAMB.A1B2C.TMPRL.CLOUD:7233', true],
    ['127.0.0.1:7233', false],
    ['temporal.internal:7233', false],
    ['tmprl.cloud.example.com:7233', false],
  ])('%s → %s', (address, expected) => {
    expect(isTemporalCloud(address)).toBe(expected);
  });
});

describe('registerCommand', () => {
  it('self-hosted: one Temporal CLI command naming the address, namespace and each attribute', () => {
    expect(registerCommand(selfHosted, ['ConvergeOperation', 'ConvergePhase'])).toBe(
      'temporal operator search-attribute create --address temporal.internal:7233 --namespace teamb ' +
        '--name ConvergeOperation --type Keyword --name ConvergePhase --type Keyword',
    );
  });

  it('Temporal Cloud: tcld, which is how Cloud namespaces get search attributes', () => {
    expect(registerCommand(cloud, ['ConvergeDeployment'])).toBe(
      "tcld namespace search-attributes add --namespace teamb.a1b2c --search-attribute 'ConvergeDeployment=Keyword'",
    );
  });
});

describe('notReadyMessage', () => {
  it('missing ones: one line naming them, the prepare command and the operator command', () => {
    const message = notReadyMessage(selfHosted, { missing: ['ConvergePhase'], clashes: [] });
    expect(message).toBe(
      'namespace "teamb" lacks Converge\'s search attributes ConvergePhase (Keyword); run ' +
        '`converge namespace prepare` with the same TEMPORAL_* settings, or have an operator run: ' +
        'temporal operator search-attribute create --address temporal.internal:7233 --namespace teamb ' +
        '--name ConvergePhase --type Keyword',
    );
    expect(message).not.toContain('\n');
  });

  it('a clash is named alone: preparing cannot fix it', () => {
    const message = notReadyMessage(selfHosted, {
      missing: ['ConvergeOperation'],
      clashes: [{ name: 'ConvergePhase', registered: 'Text' }],
    });
    expect(message).toContain('has ConvergePhase as Text, Converge needs Keyword');
    expect(message).not.toContain('converge namespace prepare');
  });
});

describe('typeName', () => {
  const T = proto.temporal.api.enums.v1.IndexedValueType;
  it.each([
    [T.INDEXED_VALUE_TYPE_KEYWORD, 'Keyword'],
    [T.INDEXED_VALUE_TYPE_TEXT, 'Text'],
    [T.INDEXED_VALUE_TYPE_KEYWORD_LIST, 'KeywordList'],
    [T.INDEXED_VALUE_TYPE_DATETIME, 'Datetime'],
  ])('%s → %s (the Temporal CLI spelling)', (type, expected) => {
    expect(typeName(type)).toBe(expected);
  });
});

describe('describePreparation', () => {
  it('says what was registered and what was there', () => {
    expect(
      describePreparation({
        outcome: 'ready',
        namespace: 'teamb',
        added: ['ConvergePhase'],
        present: ['ConvergeDeployment', 'ConvergeOperation'],
      }),
    ).toBe(
      'namespace "teamb" is ready for Converge: registered ConvergePhase; already had ConvergeDeployment, ConvergeOperation',
    );
  });

  it('not allowed: why, and the command on its own line', () => {
    const text = describePreparation({
      outcome: 'not_allowed',
      namespace: 'teamb',
      missing: ['ConvergePhase'],
      reason: 'the server refused (permission denied)',
      command: registerCommand(selfHosted, ['ConvergePhase']),
    });
    expect(text.split('\n')).toEqual([
      'namespace "teamb" lacks ConvergePhase and they cannot be registered from here: the server refused ' +
        '(permission denied). Run this where you have the rights, then start the worker:',
      '  temporal operator search-attribute create --address temporal.internal:7233 --namespace teamb ' +
        '--name ConvergePhase --type Keyword',
    ]);
  });
});

describe('searchAttributeArgs', () => {
  it('gives the dev server the same attributes, as Keyword', () => {
    expect(searchAttributeArgs()).toEqual([
      '--search-attribute',
      'ConvergeDeployment=Keyword',
      '--search-attribute',
      'ConvergeOperation=Keyword',
      '--search-attribute',
      'ConvergePhase=Keyword',
    ]);
  });
});
