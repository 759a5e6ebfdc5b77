// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "data/",
      "coverage/",
      "artifacts/",
      "bin/",
      "web/dist/",
      "web/vite.config.ts",
      "scratch/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // The domain is pure: it must not reach for the edges.
    files: ["src/money/**", "src/time/**", "src/phone/**", "src/rating/**", "src/ledger/rules*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: ["**/db/**", "**/cli/**", "**/services/**", "kysely", "pg", "better-sqlite3", "node:fs"],
        },
      ],
    },
  },
  {
    // Tests read JSON bodies of arbitrary shape and assert on them.
    files: ["test/**", "**/*.test.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
    },
  },
  {
    files: ["eslint.config.js"],
    ...tseslint.configs.disableTypeChecked,
  },
);
