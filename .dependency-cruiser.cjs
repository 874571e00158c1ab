// The layer table of docs/architecture.md, enforced by `npm run lint` (depcruise). Each rule
// names a folder and the project folders it must not import; npm packages and node: modules
// are not layers (domain/'s I/O ban is the rule below on node: modules). Paths are relative
// to the directory depcruise runs in, so tests/layers.test.ts can run the same rules on a
// small fixture tree (tests/fixtures/layers/) and check that a wrong-way import is refused.
const layers = '(domain|commands|projections|readmodels|api|replay|infra|client|console|tests|bench)';
const outside = (...allowed) => `^(?!(${allowed.join('|')})/)${layers}/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'domain/ imports nothing outside domain/.',
      severity: 'error',
      from: { path: '^domain/' },
      to: { path: outside('domain') },
    },
    {
      name: 'domain-no-io',
      comment: 'domain/ does no I/O: no file system, network, processes or timers.',
      severity: 'error',
      from: { path: '^domain/' },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|fs/promises|net|http|https|http2|dgram|dns|tls|child_process|cluster|worker_threads|timers|timers/promises|readline|os|process)$',
      },
    },
    {
      name: 'commands-layer',
      comment: 'commands/ imports domain/ only.',
      severity: 'error',
      from: { path: '^commands/' },
      to: { path: outside('domain', 'commands') },
    },
    {
      name: 'projections-layer',
      comment: 'projections/ are pure folds over domain/ events: they import domain/ only.',
      severity: 'error',
      from: { path: '^projections/' },
      to: { path: outside('domain', 'projections') },
    },
    {
      name: 'readmodels-layer',
      comment: 'readmodels/ imports domain/ (the SQL port included) and projections/.',
      severity: 'error',
      from: { path: '^readmodels/' },
      to: { path: outside('domain', 'projections', 'readmodels') },
    },
    {
      name: 'replay-layer',
      comment: 'replay/ imports domain/, projections/ and the infra/ readers (signing keys, stores).',
      severity: 'error',
      from: { path: '^replay/' },
      to: { path: outside('domain', 'projections', 'replay', 'infra/signing', 'infra/store') },
    },
    {
      name: 'infra-layer',
      comment:
        'infra/ adapters import domain/, the ports of commands/, and drive projections/ and readmodels/ (the Kafka consumer folds through the projection runner); never api/ or replay/.',
      severity: 'error',
      from: { path: '^infra/' },
      to: { path: outside('domain', 'commands', 'projections', 'readmodels', 'infra') },
    },
    {
      name: 'contracts-layer',
      comment:
        'contracts/ (route schemas, bundled by the console) imports domain/, commands/ schemas and the permission names only.',
      severity: 'error',
      from: { path: '^contracts/' },
      to: {
        path: [
          '^(projections|readmodels|replay|infra|client|console|tests|bench)/',
          '^api/(?!auth/permissions\\.ts$)',
        ],
      },
    },
    {
      name: 'client-layer',
      comment: 'client/ is built on the contracts alone.',
      severity: 'error',
      from: { path: '^client/' },
      to: { path: outside('domain', 'contracts', 'client', 'commands', 'api/auth') },
    },
    {
      name: 'api-layer',
      comment: 'api/ may import everything but tests/ and bench/.',
      severity: 'error',
      from: { path: '^api/' },
      to: { path: '^(tests|bench)/' },
    },
    {
      name: 'no-folder-cycles',
      comment: 'No import cycles between modules (a folder cycle always contains one).',
      severity: 'error',
      from: { path: '^(domain|commands|projections|readmodels|api|replay|infra)/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|console)/' },
    // Type-only imports are dependencies too: a port imported as a type still ties the layers.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: require('node:path').join(__dirname, 'tsconfig.json') },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
