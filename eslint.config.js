// ESLint flat config: typescript-eslint's recommended rules, plus the layering rule that kernels
// (pure functions on typed arrays) never import autograd, nn or the Tensor class.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'runs/', 'docs/', 'test/fixtures/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src/tensor/kernels/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/autograd/**', '**/autograd'], message: 'kernels never import autograd' },
            { group: ['**/nn/**', '**/nn'], message: 'kernels never import nn' },
            {
              group: ['**/tensor/tensor.ts', '../tensor.ts'],
              message: 'kernels work on typed arrays, not Tensor',
            },
          ],
        },
      ],
    },
  },
);
