// The extension's settings (`codexLs.*`): where the server binary is, and the server's own
// configuration, which reaches it through `workspace/configuration` and
// `workspace/didChangeConfiguration`.

import * as os from "node:os";
import * as vscode from "vscode";
import {
    type ServerConfigKey,
    type UserAction,
    serverConfig,
    userActions,
} from "./server_config";

export class Config {
    static readonly section = "codexLs";

    private get settings(): vscode.WorkspaceConfiguration {
        return vscode.workspace.getConfiguration(Config.section);
    }

    /// `codexLs.server.path`, with `~` expanded; undefined when not set.
    get serverPath(): string | undefined {
        const path = this.settings.get<string | null>("server.path");
        if (typeof path !== "string" || path.trim() === "") return undefined;
        return path.startsWith("~/") ? os.homedir() + path.slice(1) : path;
    }

    /// Extra environment for the server process (`codexLs.server.extraEnv`); `null` unsets a variable.
    get serverExtraEnv(): Record<string, string | null> {
        const env = this.settings.get<Record<string, unknown>>("server.extraEnv") ?? {};
        const result: Record<string, string | null> = {};
        for (const [name, value] of Object.entries(env)) {
            if (typeof value === "string" || value === null) result[name] = value;
            else if (typeof value === "number" || typeof value === "boolean") result[name] = String(value);
        }
        return result;
    }

    get actions(): UserAction[] {
        return userActions(this.settings.get("actions"));
    }

    /// The flat object the server reads (README "Configuration").
    serverConfig(): Record<ServerConfigKey, unknown> {
        const settings = this.settings;
        return serverConfig((key) => {
            const inspected = settings.inspect(key);
            const isSet = [
                inspected?.globalValue,
                inspected?.workspaceValue,
                inspected?.workspaceFolderValue,
                inspected?.globalLanguageValue,
                inspected?.workspaceLanguageValue,
                inspected?.workspaceFolderLanguageValue,
            ].some((value) => value !== undefined);
            return { value: settings.get(key), isSet };
        });
    }

    /// A change that needs the server process restarted (its binary or its environment).
    static needsRestart(event: vscode.ConfigurationChangeEvent): boolean {
        return event.affectsConfiguration(`${Config.section}.server`);
    }

    static affectsServerConfig(event: vscode.ConfigurationChangeEvent): boolean {
        return event.affectsConfiguration(Config.section) && !Config.needsRestart(event);
    }
}
