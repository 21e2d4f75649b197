// Layer rules (DESIGN §2), checked by `npm run lint:layers` and by `npm test`. Each folder of src/
// may import only the folders listed for it; anything else is an upward or sideways import.
// Lower layers first:
//   domain → nothing; planner → domain; workflows → domain, planner (+ @temporalio/workflow);
//   cloud → domain, region wire types; region → domain, cloud; activities → domain, planner, cloud;
//   temporal → domain; client → domain, planner, workflows (messages, types), temporal;
//   workers → domain, activities, cloud, temporal, workflows (the bundle's entry path);
//   dev → domain, temporal, workers (tuning flags), cloud (seeding the moto of `dev up --cloud ec2`); program.ts / main.ts compose every command.
const allowed = {
  domain: [],
  planner: ['domain'],
  workflows: ['domain', 'planner'],
  cloud: ['domain', 'region'],
  region: ['domain', 'cloud'],
  // planner: the watch pass compares projections with the workflow's own pure function (watch-digest.ts).
  activities: ['domain', 'planner', 'cloud'],
  temporal: ['domain'],
  client: ['domain', 'planner', 'workflows', 'temporal'],
  workers: ['domain', 'activities', 'cloud', 'temporal', 'workflows'],
  dev: ['domain', 'temporal', 'workers', 'cloud'],
};
// Shared by everything: where the package lives on disk, and reading a file a setting names.
const everywhere = ['^src/package-root\\.ts$', '^src/setting-file\\.ts$'];

const layerRules = Object.entries(allowed).map(([layer, may]) => ({
  name: `${layer}-imports-only-${may.length === 0 ? 'itself' : may.join('-')}`,
  comment: `src/${layer} may import only ${[layer, ...may].map((l) => `src/${l}`).join(', ')}`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: {
    path: '^src/',
    pathNot: [`^src/(${[layer, ...may].join('|')})/`, ...everywhere],
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'a cycle of runtime imports means two modules are one idea. Type-only imports are erased at build ' +
        'time and may close a loop (a types module naming a result type of the module that uses it)',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    ...layerRules,
    {
      name: 'workflows-import-only-workflow-safe-packages',
      comment:
        'workflow code (and the planner and domain it imports) runs in the deterministic sandbox: ' +
        '@temporalio/workflow and pure libraries only (no node: modules, no I/O)',
      severity: 'error',
      from: { path: '^src/(workflows|planner|domain)/' },
      to: {
        dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown', 'core'],
        pathNot: [
          'node_modules/@temporalio/(workflow|common)/',
          'node_modules/zod/',
          'node_modules/@noble/hashes/',
          'node_modules/@noble/curves/',
          'node_modules/yaml/',
        ],
      },
    },
    {
      name: 'nothing-imports-the-composition-root',
      comment: 'src/program.ts and src/main.ts import every layer; nothing may import them',
      severity: 'error',
      from: { pathNot: '^src/(main|program)\\.ts$' },
      to: { path: '^src/(main|program)\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: ['^src/', 'node_modules/'],
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
