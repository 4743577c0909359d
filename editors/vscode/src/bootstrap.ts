// Finds the codex-ls binary: the `codexLs.server.path` setting, else a binary bundled in the
// extension (platform-specific .vsix builds ship one in `server/`), else `codex-ls` on PATH.
// The one found must answer `--version` with a version this extension supports.

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import type { Config } from "./config";
import { MIN_SERVER_VERSION, parseServerVersion, versionAtLeast } from "./server_config";

/// Why no usable server was found; the message tells the user what to do.
export class BootstrapError extends Error {}

export interface ServerBinary {
    path: string;
    version: string;
    /// Where it came from, for the logs and error messages.
    source: "setting" | "bundled" | "PATH";
}

export async function bootstrap(
    context: vscode.ExtensionContext,
    config: Config,
    log: vscode.OutputChannel,
): Promise<ServerBinary> {
    const candidate = findServer(context, config);
    if (candidate === undefined) {
        throw new BootstrapError(
            "codex-ls was not found: it is not on PATH and `codexLs.server.path` is not set. " +
                "Install it (`cargo install --path .` in the codex-ls repository) or set `codexLs.server.path`.",
        );
    }
    const output = await versionOutput(candidate.path, config.serverExtraEnv);
    log.appendLine(`codex-ls from ${candidate.source}: ${candidate.path} --version: ${output.text}`);
    if (!output.ok) {
        throw new BootstrapError(
            `\`${candidate.path} --version\` failed (${output.text}).` +
                (candidate.source === "setting" ? " Check `codexLs.server.path`." : ""),
        );
    }
    const version = parseServerVersion(output.text);
    if (version === undefined || !versionAtLeast(version, MIN_SERVER_VERSION)) {
        throw new BootstrapError(
            `${candidate.path} is not codex-ls ${MIN_SERVER_VERSION} or newer (it says "${output.text.trim()}"). ` +
                "Update codex-ls or point `codexLs.server.path` at a newer one.",
        );
    }
    return { path: candidate.path, version: version.join("."), source: candidate.source };
}

function findServer(
    context: vscode.ExtensionContext,
    config: Config,
): { path: string; source: ServerBinary["source"] } | undefined {
    const explicit = config.serverPath;
    if (explicit !== undefined) return { path: explicit, source: "setting" };
    const executable = process.platform === "win32" ? "codex-ls.exe" : "codex-ls";
    const bundled = path.join(context.extensionPath, "server", executable);
    if (isExecutable(bundled)) return { path: bundled, source: "bundled" };
    const onPath = searchPath(executable);
    return onPath === undefined ? undefined : { path: onPath, source: "PATH" };
}

function isExecutable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

function searchPath(executable: string): string | undefined {
    for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
        if (dir === "") continue;
        const file = path.join(dir, executable);
        if (isExecutable(file)) return file;
    }
    return undefined;
}

export function serverEnv(extraEnv: Record<string, string | null>): NodeJS.ProcessEnv {
    const env = { ...process.env };
    for (const [name, value] of Object.entries(extraEnv)) {
        if (value === null) delete env[name];
        else env[name] = value;
    }
    return env;
}

function versionOutput(
    file: string,
    extraEnv: Record<string, string | null>,
): Promise<{ ok: boolean; text: string }> {
    return new Promise((resolve) => {
        execFile(file, ["--version"], { env: serverEnv(extraEnv), timeout: 10_000 }, (error, stdout, stderr) => {
            if (error) {
                resolve({ ok: false, text: (stderr.trim() || error.message).split("\n")[0] });
            } else {
                resolve({ ok: true, text: stdout.trim() });
            }
        });
    });
}
