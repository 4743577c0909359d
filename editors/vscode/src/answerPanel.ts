// The answer panel: a webview beside the editor with one entry per run (its prompt, status,
// cancel button, the agent's steps and the answer rendered as markdown while it streams). The extension keeps
// every entry, so the panel shows them all again when it is hidden and shown, or closed and
// reopened.

import * as crypto from "node:crypto";
import * as vscode from "vscode";
import { type PanelEntry, type RenderedEntry, type ToWebview, parseWebviewMessage } from "./panel_model";

/// What the panel's buttons do; the context implements them.
export interface PanelActions {
    cancel(id: number): void;
    showDiagnostic(id: number): void;
    /// Opens the diff of a file change: a run's step and the file's index in it.
    openDiff(id: number, step: string, change: number): void;
    /// Reveals the lines of a review's finding.
    revealFinding(id: number, finding: number): void;
    /// Runs still going are kept by "Clear".
    clear(): void;
}

export class AnswerPanel implements vscode.Disposable {
    static readonly viewType = "codexLs.answers";
    private panel: vscode.WebviewPanel | undefined;
    /// Whether the webview's script has loaded and asked for the entries.
    private ready = false;
    private readonly entries = new Map<number, RenderedEntry>();
    /// The editor that code blocks are inserted into: the last text editor the user was in
    /// (the panel itself takes the focus when a button is clicked).
    private lastEditor: vscode.TextEditor | undefined;
    private readonly disposables: vscode.Disposable[] = [];

    constructor(
        private readonly extensionUri: vscode.Uri,
        private readonly actions: PanelActions,
    ) {
        this.lastEditor = vscode.window.activeTextEditor;
        this.disposables.push(
            vscode.window.onDidChangeActiveTextEditor((editor) => {
                if (editor) this.lastEditor = editor;
            }),
        );
    }

    /// Opens the panel beside the editor, or brings it forward.
    show(preserveFocus: boolean): void {
        if (this.panel) {
            this.panel.reveal(undefined, preserveFocus);
            return;
        }
        const panel = vscode.window.createWebviewPanel(
            AnswerPanel.viewType,
            "Codex Answers",
            { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
            {
                enableScripts: true,
                enableFindWidget: true,
                localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, "out", "webview")],
            },
        );
        this.ready = false;
        panel.webview.html = this.html(panel.webview);
        panel.webview.onDidReceiveMessage((message) => this.onMessage(message), undefined, this.disposables);
        panel.onDidChangeViewState(
            (event) => {
                // A hidden webview loses its page; it asks for the entries again when it loads.
                if (!event.webviewPanel.visible) this.ready = false;
            },
            undefined,
            this.disposables,
        );
        panel.onDidDispose(
            () => {
                this.panel = undefined;
                this.ready = false;
            },
            undefined,
            this.disposables,
        );
        this.panel = panel;
    }

    update(rendered: RenderedEntry): void {
        this.entries.set(rendered.entry.id, rendered);
        this.post({ type: "entry", entry: rendered.entry });
    }

    remove(ids: number[]): void {
        for (const id of ids) this.entries.delete(id);
        this.postAll();
    }

    private post(message: ToWebview): void {
        if (this.panel && this.ready) void this.panel.webview.postMessage(message);
    }

    private postAll(): void {
        const entries: PanelEntry[] = [...this.entries.values()].map((rendered) => rendered.entry);
        this.post({ type: "entries", entries });
    }

    private async onMessage(raw: unknown): Promise<void> {
        const message = parseWebviewMessage(raw);
        if (message === undefined) return;
        switch (message.type) {
            case "ready":
                this.ready = true;
                this.postAll();
                return;
            case "cancel":
                this.actions.cancel(message.id);
                return;
            case "showDiagnostic":
                this.actions.showDiagnostic(message.id);
                return;
            case "openDiff":
                this.actions.openDiff(message.id, message.step, message.change);
                return;
            case "revealFinding":
                this.actions.revealFinding(message.id, message.finding);
                return;
            case "clear":
                this.actions.clear();
                return;
            case "copy": {
                const code = this.entries.get(message.id)?.codeBlocks[message.block];
                if (code === undefined) return;
                await vscode.env.clipboard.writeText(code);
                void vscode.window.setStatusBarMessage("Codex: code copied", 2000);
                return;
            }
            case "insert": {
                const code = this.entries.get(message.id)?.codeBlocks[message.block];
                if (code !== undefined) await this.insertAtCursor(code);
                return;
            }
        }
    }

    private async insertAtCursor(code: string): Promise<void> {
        const editor = this.lastEditor;
        if (!editor || editor.document.isClosed) {
            void vscode.window.showWarningMessage("Codex: open an editor to insert the code into.");
            return;
        }
        const shown = await vscode.window.showTextDocument(editor.document, editor.viewColumn);
        await shown.edit((edit) => {
            for (const selection of shown.selections) edit.replace(selection, code);
        });
    }

    private html(webview: vscode.Webview): string {
        const nonce = crypto.randomBytes(16).toString("base64");
        const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, "out", "webview", "answers.js"));
        const style = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, "out", "webview", "answers.css"));
        const csp = [
            "default-src 'none'",
            `style-src ${webview.cspSource}`,
            `img-src ${webview.cspSource} https: data:`,
            `font-src ${webview.cspSource}`,
            `script-src 'nonce-${nonce}'`,
        ].join("; ");
        return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Codex Answers</title>
</head>
<body>
<header class="toolbar"><span class="toolbar-title">Codex answers</span><button class="toolbar-button" data-action="clear" title="Remove finished entries">Clear</button></header>
<main id="entries" aria-live="polite"><p class="empty">Select some code and run a Codex command (Codex: Explain Selection, Codex: Ask…). Answers stream in here.</p></main>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
    }

    dispose(): void {
        this.panel?.dispose();
        for (const disposable of this.disposables) disposable.dispose();
    }
}
