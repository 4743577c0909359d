import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
    SERVER_CONFIG_KEYS,
    parseServerVersion,
    serverConfig,
    userActions,
    versionAtLeast,
    wantsInstruction,
} from "../../src/server_config";

// The bundled test runs from out/test/.
const extensionRoot = join(__dirname, "..", "..");

interface Manifest {
    contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
}

function contributedServerKeys(): string[] {
    const manifest = JSON.parse(readFileSync(join(extensionRoot, "package.json"), "utf8")) as Manifest;
    return Object.keys(manifest.contributes.configuration.properties)
        .filter((key) => !key.startsWith("codexLs.server.") && !key.startsWith("codexLs.trace."))
        .map((key) => key.slice("codexLs.".length));
}

/// The keys of the table in the project README's "Configuration" section.
function documentedServerKeys(): string[] {
    const readme = readFileSync(join(extensionRoot, "..", "..", "README.md"), "utf8");
    const section = readme.split(/^## /m).find((part) => part.startsWith("Configuration"));
    assert.ok(section, "README.md has a Configuration section");
    return [...section.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((match) => match[1]);
}

describe("settings", () => {
    it("package.json contributes exactly the server's configuration keys", () => {
        assert.deepEqual(contributedServerKeys().sort(), [...SERVER_CONFIG_KEYS].sort());
    });

    it("the server's configuration keys are the ones the README documents", () => {
        assert.deepEqual([...SERVER_CONFIG_KEYS].sort(), documentedServerKeys().sort());
    });

    it("sends unset keys and empty strings as null, so the server's defaults apply", () => {
        const values: Record<string, { value: unknown; isSet: boolean }> = {
            codexPath: { value: "/opt/codex", isSet: true },
            model: { value: "", isSet: true },
            sandbox: { value: "read-only", isSet: false },
            timeoutSecs: { value: 30, isSet: true },
            actions: { value: [{ title: "T", prompt: "P" }], isSet: true },
        };
        const config = serverConfig((key) => values[key] ?? { value: undefined, isSet: false });
        assert.equal(config.codexPath, "/opt/codex");
        assert.equal(config.model, null);
        assert.equal(config.sandbox, null);
        assert.equal(config.timeoutSecs, 30);
        assert.deepEqual(config.actions, [{ title: "T", prompt: "P" }]);
        assert.deepEqual(Object.keys(config).sort(), [...SERVER_CONFIG_KEYS].sort());
    });

    it("keeps the well-formed actions", () => {
        assert.deepEqual(
            userActions([
                { title: "Doc", prompt: "Document {selection}" },
                { title: "Fixup", prompt: "Fix {selection}", mode: "edit" },
                { title: "" , prompt: "x" },
                "x",
                { title: "T", prompt: 3 },
                { title: "M", prompt: "p", mode: "poem" },
            ]),
            [
                { title: "Doc", prompt: "Document {selection}", mode: "answer" },
                { title: "Fixup", prompt: "Fix {selection}", mode: "edit" },
            ],
        );
        assert.deepEqual(userActions(null), []);
    });

    it("asks for an instruction only when the template has the placeholder", () => {
        const action = (prompt: string) => ({ title: "t", prompt, mode: "answer" as const });
        assert.equal(wantsInstruction(action("Do {instruction} to {selection}")), true);
        assert.equal(wantsInstruction(action("Literal {{instruction}} braces")), false);
        assert.equal(wantsInstruction(action("Explain {selection}")), false);
    });
});

describe("server version", () => {
    it("reads `codex-ls --version` and compares", () => {
        assert.deepEqual(parseServerVersion("codex-ls 0.1.0\n"), [0, 1, 0]);
        assert.equal(parseServerVersion("rust-analyzer 1.0.0"), undefined);
        assert.equal(versionAtLeast([0, 1, 0], "0.1.0"), true);
        assert.equal(versionAtLeast([0, 2, 0], "0.10.0"), false);
        assert.equal(versionAtLeast([1, 0, 0], "0.10.0"), true);
        assert.equal(versionAtLeast([0, 0, 9], "0.1.0"), false);
    });
});
