// Bundles the extension with esbuild: the extension host code (out/main.js, CommonJS, with
// vscode-languageclient and markdown-it inside, so the .vsix needs no node_modules) and the
// answer panel's page script and style (out/webview/). --production minifies and drops source
// maps. --tests builds only the unit tests (out/test/*.test.js, run by `node --test`), so a
// test run never rewrites the bundle that is being packaged.
import * as esbuild from "esbuild";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const production = process.argv.includes("--production");
const tests = process.argv.includes("--tests");
const common = {
    bundle: true,
    minify: production,
    sourcemap: production ? false : "linked",
    logLevel: "warning",
    target: "es2022",
};

function extension() {
    return [
        esbuild.build({
            ...common,
            entryPoints: ["src/main.ts"],
            outfile: "out/main.js",
            platform: "node",
            format: "cjs",
            external: ["vscode"],
        }),
        esbuild.build({
            ...common,
            entryPoints: ["src/webview/answers.ts", "src/webview/answers.css"],
            outdir: "out/webview",
            platform: "browser",
            format: "iife",
        }),
    ];
}

function unitTests() {
    const folder = "test/unit";
    return [
        esbuild.build({
            ...common,
            minify: false,
            sourcemap: "inline",
            entryPoints: readdirSync(folder)
                .filter((name) => name.endsWith(".test.ts"))
                .map((name) => join(folder, name)),
            outdir: "out/test",
            platform: "node",
            format: "cjs",
            // The pure modules under test must not need VS Code: leaving it out makes a test
            // fail at once if one does.
            external: ["vscode"],
        }),
    ];
}

await Promise.all(tests ? unitTests() : extension());
