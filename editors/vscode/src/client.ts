// Builds the language client: the server process, the documents it sees, the configuration it
// pulls, and the typed approval requests (`codex/requestApproval`) it sends.

import * as vscode from "vscode";
import * as lc from "vscode-languageclient/node";
import { serverEnv, type ServerBinary } from "./bootstrap";
import { REVIEW_CHANGES, approvalDialog, decisionOf } from "./approval";
import type { Config } from "./config";
import * as ext from "./lsp_ext";
import { SERVER_SECTION } from "./server_config";

/// Runs a server run command that VS Code executes for a code action (the lightbulb, the Quick
/// Fix menu): the context gives it a progress token, so it streams into the answer panel.
export type CodeActionRunner = (command: ext.RunCommand, argument: Record<string, unknown>) => Promise<unknown>;

/// Opens the diffs of an approval's file changes.
export type ChangesReviewer = (changes: ext.FileChange[]) => Promise<void>;

export function createClient(
    server: ServerBinary,
    config: Config,
    outputChannel: vscode.OutputChannel,
    traceOutputChannel: vscode.OutputChannel,
    runCodeAction: CodeActionRunner,
    reviewChanges: ChangesReviewer,
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
    client.registerFeature(new TypedApprovals());
    client.onRequest(ext.REQUEST_APPROVAL, (params: unknown) => requestApproval(params, reviewChanges));
    return client;
}

/// Declares `capabilities.experimental.codex.approvals: true`, so the server asks for approvals
/// with `codex/requestApproval` instead of prose in `window/showMessageRequest` (which VS Code's
/// default handler shows as any other message).
class TypedApprovals implements lc.StaticFeature {
    fillClientCapabilities(capabilities: lc.ClientCapabilities): void {
        const experimental = (capabilities.experimental ??= {}) as Record<string, unknown>;
        const codex = (experimental["codex"] ??= {}) as Record<string, unknown>;
        codex["approvals"] = true;
    }

    getState(): lc.FeatureState {
        return { kind: "static" };
    }

    initialize(): void {}

    clear(): void {}
}

/// Asks the user in a modal dialog, so that a waiting turn cannot go unnoticed. A file change
/// can be reviewed in the diff editor first; the dialog then asks again. Closing it declines,
/// as does a request this client cannot read.
async function requestApproval(params: unknown, reviewChanges: ChangesReviewer): Promise<ext.ApprovalResult> {
    const request = ext.parseApprovalRequest(params);
    if (request === undefined) return { decision: "decline" };
    const dialog = approvalDialog(request);
    for (;;) {
        const picked = await vscode.window.showWarningMessage(
            dialog.message,
            { modal: true, detail: dialog.detail },
            ...dialog.buttons,
        );
        if (picked === REVIEW_CHANGES) {
            await reviewChanges(request.changes ?? []);
            continue;
        }
        return { decision: decisionOf(request, picked) };
    }
}
