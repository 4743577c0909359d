// The server's configuration as the extension sends it: the flat object of the README's
// "Configuration" section, built from the `codexLs.*` settings that mirror it one to one.
// Pure (no VS Code): `config.ts` feeds it the settings.

/// The server's configuration keys; each is contributed as the setting `codexLs.<key>`.
export const SERVER_CONFIG_KEYS = [
    "codexPath",
    "model",
    "effort",
    "reasoningSummary",
    "sandbox",
    "approvalPolicy",
    "timeoutSecs",
    "progressIntervalMs",
    "inlineSelectionLimit",
    "actions",
    "approvalTimeoutSecs",
    "allowPrivilegedEscalation",
    "editPreview",
] as const;

export type ServerConfigKey = (typeof SERVER_CONFIG_KEYS)[number];

/// The section the server asks for with `workspace/configuration`.
export const SERVER_SECTION = "codex";

/// One setting as VS Code resolves it: its effective value, and whether the user set it at any
/// level (user, workspace, folder). An unset key is sent as `null`, which the server reads as
/// "use your default", so the server's defaults always win over a stale copy of them.
export interface SettingValue {
    value: unknown;
    isSet: boolean;
}

export function serverConfig(read: (key: ServerConfigKey) => SettingValue): Record<ServerConfigKey, unknown> {
    const config = {} as Record<ServerConfigKey, unknown>;
    for (const key of SERVER_CONFIG_KEYS) {
        const { value, isSet } = read(key);
        // An empty string in a text setting means "codex's default", like an unset key.
        config[key] = !isSet || value === undefined || value === "" ? null : value;
    }
    return config;
}

export type ActionMode = "answer" | "edit" | "review";

/// A user-defined action from the `actions` setting, offered by "Codex: Run Action…".
export interface UserAction {
    title: string;
    /// The prompt template; `{instruction}` in it is asked for when the action runs.
    prompt: string;
    mode: ActionMode;
}

/// The well-formed entries of the `actions` setting; the server reports the malformed ones.
export function userActions(value: unknown): UserAction[] {
    if (!Array.isArray(value)) return [];
    const actions: UserAction[] = [];
    for (const entry of value) {
        if (typeof entry !== "object" || entry === null) continue;
        const { title, prompt, mode } = entry as Record<string, unknown>;
        if (typeof title !== "string" || title.trim() === "" || typeof prompt !== "string") continue;
        if (mode !== undefined && mode !== null && mode !== "answer" && mode !== "edit" && mode !== "review") continue;
        actions.push({ title, prompt, mode: mode ?? "answer" });
    }
    return actions;
}

/// Whether running the action needs an instruction from the user: its template has an
/// `{instruction}` placeholder (`{{instruction}}` is literal text).
export function wantsInstruction(action: UserAction): boolean {
    return /\{instruction\}/.test(action.prompt.replace(/\{\{|\}\}/g, ""));
}

/// The oldest server this extension works with.
export const MIN_SERVER_VERSION = "0.1.0";

/// The version in `codex-ls --version` output ("codex-ls 0.1.0"), as numbers.
export function parseServerVersion(output: string): number[] | undefined {
    const match = /^codex-ls\s+v?(\d+)\.(\d+)\.(\d+)/m.exec(output.trim());
    if (!match) return undefined;
    return [Number(match[1]), Number(match[2]), Number(match[3])];
}

export function versionAtLeast(version: number[], minimum: string): boolean {
    const wanted = minimum.split(".").map(Number);
    for (let i = 0; i < wanted.length; i++) {
        const have = version[i] ?? 0;
        if (have !== wanted[i]) return have > wanted[i];
    }
    return true;
}
