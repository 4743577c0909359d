// Builds the language client: the server process, the documents it sees, the configuration it
// pulls, and the approval prompts it sends.

import * as vscode from "vscode";
import * as lc from "vscode-languageclient/node";
import { serverEnv, type ServerBinary } from "./bootstrap";
import type { Config } from "./config";
import * as ext from "./lsp_ext";
import { SERVER_SECTION } from "./server_config";

/// Runs a server run command that VS Code executes for a code action (the lightbulb, the Quick
/// Fix menu): the context gives it a progress token, so it streams into the answer panel.
export type CodeActionRunner = (command: ext.RunCommand, argument: Record<string, unknown>) => Promise<unknown>;

export function createClient(
    server: ServerBinary,
    config: Config,
    outputChannel: vscode.OutputChannel,
    traceOutputChannel: vscode.OutputChannel,
    runCodeAction: CodeActionRunner,
): lc.LanguageClient {
    // No `transport`: with one, the client adds `--stdio` to the arguments, and codex-ls takes
    // none (it always serves on stdio).
    const executable: lc.Executable = {
        command: server.path,
        options: { env: serverEnv(config.serverExtraEnv) },
    };
    const clientOptions: lc.LanguageClientOptions = {
        // Codex works on any file, saved or not.
        documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
        initializationOptions: config.serverConfig(),
        outputChannel,
        traceOutputChannel,
        middleware: {
            // The server's code actions carry its run commands without a progress token.
            executeCommand: async (command, args: unknown[], next) => {
                // A `backend-unavailable` failure's "Open settings": this extension's own settings.
                if (command === ext.OPEN_SETTINGS) {
                    await vscode.commands.executeCommand("workbench.action.openSettings", "codexLs.server");
                    return null;
                }
                const argument = args[0];
                if (
                    ext.isRunCommand(command) &&
                    args.length === 1 &&
                    typeof argument === "object" &&
                    argument !== null &&
                    !("progressToken" in argument)
                ) {
                    return runCodeAction(command, argument as Record<string, unknown>);
                }
                return next(command, args) as Promise<unknown>;
            },
            workspace: {
                // The server asks for the section "codex"; VS Code keeps it under "codexLs".
                configuration: async (params, token, next) => {
                    const answer = await next(params, token);
                    if (!Array.isArray(answer)) return answer;
                    return answer.map((value: unknown, index) =>
                        params.items[index]?.section === SERVER_SECTION ? config.serverConfig() : value,
                    );
                },
            },
        },
    };
    const client = new lc.LanguageClient("codexLs", "Codex Language Server", executable, clientOptions);
    // Registered before start, so it replaces the client's default handler.
    client.onRequest(lc.ShowMessageRequest.type, showMessageRequest);
    return client;
}

/// Approvals come as `window/showMessageRequest`s; they are shown as modal dialogs so that a
/// waiting turn cannot go unnoticed. Other requests are shown as usual. No answer is a `null`,
/// which the server reads as a decline.
async function showMessageRequest(params: lc.ShowMessageRequestParams): Promise<lc.MessageActionItem | null> {
    const actions = params.actions ?? [];
    const approval = ext.parseApprovalRequest(params.message);
    if (approval !== undefined) {
        const picked = await vscode.window.showWarningMessage(
            approval.headline,
            { modal: true, detail: approval.detail },
            ...actions,
        );
        return picked ?? null;
    }
    const show =
        params.type === lc.MessageType.Error
            ? vscode.window.showErrorMessage
            : params.type === lc.MessageType.Warning
              ? vscode.window.showWarningMessage
              : vscode.window.showInformationMessage;
    return (await show(params.message, ...actions)) ?? null;
}
