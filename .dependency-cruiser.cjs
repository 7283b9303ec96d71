/** Architecture rules checked by `npm run lint` (dependency-cruiser). */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Stages depend on seams, never in a circle (STYLE.md: lint forbids import cycles).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-pg-outside-its-adapter',
      severity: 'error',
      comment: 'Only the PostgreSQL adapter may load the pg driver.',
      from: { pathNot: '^src/store/postgres/' },
      to: { path: 'node_modules/pg/' },
    },
    {
      name: 'no-sqlite-outside-its-adapter',
      severity: 'error',
      comment:
        'No SQLite type leaks through the Store seam: only the SQLite adapter (and tests, benches) load better-sqlite3.',
      from: { path: '^src/', pathNot: ['^src/store/sqlite/', '\\.test\\.ts$', '^src/eval/'] },
      to: { path: 'node_modules/better-sqlite3/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
