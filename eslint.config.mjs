import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      "bin/**",
      ".tmp/**",
      ".tools/**",
      "policy/node_modules/**",
      "**/*.js",
      "!main.js",
      "!policy/main.js",
      "!cli/main.js",
      "!demo/main.js",
      "!entry/compiledEntry.js",
      "!scripts/build-program.js",
      "**/*.mjs",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Dynamic providers must require() their SDK clients inside methods so that
      // Pulumi's closure serialization does not capture them.
      "@typescript-eslint/no-require-imports": "off",
      eqeqeq: ["error", "always"],
      "no-console": "off",
    },
  },
  {
    // The entry points that load before any TypeScript can (entry/compiledEntry.js).
    files: ["**/*.js"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { __dirname: "readonly", process: "readonly", console: "readonly" },
    },
  },
);
