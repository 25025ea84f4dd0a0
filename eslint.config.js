// ESLint: the layer rule of the node (commands → control → runtime → calls →
// media / relay / overlay → net → common, and never back), checked on every import, so
// a wrong-way import fails `npm run lint` (and CI) instead of waiting for review.
import tseslint from 'typescript-eslint'

/** Imports a folder may not make: each names the layers above it (or beside it). */
const forbidden = (what, ...layers) => ({
  'no-restricted-imports': ['error', {
    patterns: [{ group: layers.flatMap(layer => [`**/${layer}/*`, `**/${layer}/**`]), message: `${what} may not import from ${layers.join(', ')}: layers import one way (README, "Layout").` }]
  }]
})

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'voxmesh-data/**', 'voxmesh-demo/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { sourceType: 'module' } }
  },
  { files: ['common/**/*.ts'], rules: forbidden('common/', 'node', 'login-server', 'pstn-gateway-stub') },
  { files: ['login-server/**/*.ts'], rules: forbidden('login-server/', 'node', 'pstn-gateway-stub') },
  { files: ['node/net/**/*.ts'], rules: forbidden('node/net', 'overlay', 'media', 'relay', 'calls', 'runtime', 'control', 'commands', 'testing') },
  { files: ['node/overlay/**/*.ts'], rules: forbidden('node/overlay', 'media', 'relay', 'calls', 'runtime', 'control', 'commands', 'testing') },
  { files: ['node/media/**/*.ts'], rules: forbidden('node/media', 'overlay', 'relay', 'calls', 'runtime', 'control', 'commands', 'testing') },
  { files: ['node/relay/**/*.ts'], rules: forbidden('node/relay', 'overlay', 'media', 'calls', 'runtime', 'control', 'commands', 'testing') },
  { files: ['node/calls/**/*.ts'], rules: forbidden('node/calls', 'runtime', 'control', 'commands', 'testing') },
  { files: ['node/runtime/**/*.ts'], rules: forbidden('node/runtime', 'control', 'commands', 'testing') },
  { files: ['node/control/**/*.ts'], rules: forbidden('node/control', 'commands', 'testing') },
  // Other programs use the node through its front door only; the CLI entry takes its command definitions
  // from node/cli.ts, which loads none of the node (a client command starts in a few tens of ms).
  {
    files: ['bin/**/*.ts', 'demo/**/*.ts', 'bench/**/*.ts', 'pstn-gateway-stub/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/node/**', '!**/node/index.js'], message: 'other programs import the node through node/index.ts only (README, "Layout").' }]
      }]
    }
  },
  {
    files: ['bin/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/node/**', '!**/node/cli.js'], message: 'the CLI entry imports the node through node/cli.ts only: its command definitions, none of the node itself (README, "Layout").' }]
      }]
    }
  },
  // Files that fit on a few screens, functions read in one pass (a test's describe block may run longer).
  { files: ['**/*.ts'], rules: { 'max-lines': ['error', { max: 400 }] } },
  { files: ['**/*.ts'], ignores: ['test/**'], rules: { 'max-lines-per-function': ['error', { max: 120 }] } }
)
