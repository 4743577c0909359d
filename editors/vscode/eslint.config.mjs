// Lint rules: typescript-eslint's type-aware recommended set for the TypeScript sources, plus
// no floating promises (every async call is awaited or explicitly `void`ed).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["out/", "node_modules/", "*.vsix"] },
    js.configs.recommended,
    {
        files: ["**/*.ts"],
        extends: [...tseslint.configs.recommendedTypeChecked],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        rules: {
            "@typescript-eslint/no-floating-promises": "error",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
            eqeqeq: ["error", "always"],
            "no-console": "error",
        },
    },
    {
        // node:test's describe() and it() return promises that the runner itself awaits.
        files: ["test/unit/**/*.ts"],
        rules: { "@typescript-eslint/no-floating-promises": "off" },
    },
    {
        // Build and test scripts run on Node.
        files: ["**/*.mjs"],
        languageOptions: {
            globals: {
                process: "readonly",
                console: "readonly",
                URL: "readonly",
                setTimeout: "readonly",
                clearTimeout: "readonly",
                Buffer: "readonly",
            },
        },
        rules: { eqeqeq: ["error", "always"] },
    },
);
