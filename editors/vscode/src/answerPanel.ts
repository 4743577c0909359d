// The answer panel: a webview beside the editor that shows one conversation, an entry per
// exchange (the question and the selection it was about, status, Cancel and Retry, the agent's
// steps and the answer rendered as markdown while it streams), and a follow-up input at the
// bottom. The extension keeps the conversations, so the panel shows them again when it is hidden
// and shown, closed and reopened, or revived after a window reload.

import * as crypto from "node:crypto";
import * as vscode from "vscode";
import {
    type ConversationAction,
    type EntryAction,
    type PanelConversation,
    type RenderedEntry,
    type ToWebview,
    parseWebviewMessage,
} from "./panel_model";

/// What the panel's buttons do; the context implements them.
export interface PanelActions {
    /// Cancel, Show the problem, Retry, and a proposal's Accept, Reject and Open diff.
    entry(action: EntryAction, id: string): void;
    /// Fork, Undo last exchange, New conversation, Conversations…, Clear.
    conversation(action: ConversationAction): void;
    /// The follow-up input's text (a new turn, or steering the running one).
    send(text: string): void;
    /// Opens the diff of a file change: a run's step and the file's index in it.
    openDiff(id: string, step: string, change: number): void;
    /// Reveals the lines of a review's finding.
    revealFinding(id: string, finding: number): void;
}

export class AnswerPanel implements vscode.Disposable {
    static readonly viewType = "codexLs.answers";
    private panel: vscode.WebviewPanel | undefined;
    /// Whether the webview's script has loaded and asked for the entries.
    private ready = false;
    /// The shown conversation's header and entries, in order.
    private conversation: PanelConversation | undefined;
    private readonly entries = new Map<string, RenderedEntry>();
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
            this.webviewOptions(),
        );
        this.adopt(panel);
    }

    /// Takes a panel VS Code restored after a window reload (a `WebviewPanelSerializer`), so
    /// the conversation comes back where it was.
    revive(panel: vscode.WebviewPanel): void {
        if (this.panel) {
            panel.dispose();
            return;
        }
        panel.webview.options = this.webviewOptions();
        this.adopt(panel);
    }

    private webviewOptions(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
        return {
            enableScripts: true,
            enableFindWidget: true,
            localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, "out", "webview")],
        };
    }

    private adopt(panel: vscode.WebviewPanel): void {
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

    /// Shows a conversation (another one, or the same one redrawn after it was reloaded).
    showConversation(conversation: PanelConversation | undefined, entries: RenderedEntry[]): void {
        this.conversation = conversation;
        this.entries.clear();
        for (const rendered of entries) this.entries.set(rendered.entry.id, rendered);
        this.postAll();
    }

    /// The header alone changed (a run started or ended: the input's button, Undo).
    setHeader(conversation: PanelConversation | undefined): void {
        this.conversation = conversation;
        this.post({ type: "header", conversation });
    }

    /// One entry of the shown conversation changed (a new one goes at the end).
    update(rendered: RenderedEntry): void {
        this.entries.set(rendered.entry.id, rendered);
        this.post({ type: "entry", entry: rendered.entry });
    }

    private post(message: ToWebview): void {
        if (this.panel && this.ready) void this.panel.webview.postMessage(message);
    }

    private postAll(): void {
        const entries = [...this.entries.values()].map((rendered) => rendered.entry);
        this.post({ type: "conversation", conversation: this.conversation, entries });
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
            case "showDiagnostic":
            case "retry":
            case "acceptProposal":
            case "rejectProposal":
            case "openProposal":
                this.actions.entry(message.type, message.id);
                return;
            case "fork":
            case "undo":
            case "newConversation":
            case "pickConversation":
            case "clear":
                this.actions.conversation(message.type);
                return;
            case "send":
                this.actions.send(message.text);
                return;
            case "openDiff":
                this.actions.openDiff(message.id, message.step, message.change);
                return;
            case "revealFinding":
                this.actions.revealFinding(message.id, message.finding);
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
<header class="toolbar">
<span class="toolbar-title" id="conversation-title">Codex answers</span>
<span class="toolbar-label" id="conversation-label"></span>
<span class="toolbar-buttons">
<button class="toolbar-button" data-action="pickConversation" title="Open an earlier conversation">Conversations…</button>
<button class="toolbar-button" data-action="newConversation" title="The next question starts a new conversation">New</button>
<button class="toolbar-button" data-action="fork" id="fork-button" hidden title="Continue a copy of this conversation, leaving this one as it is">Fork</button>
<button class="toolbar-button" data-action="undo" id="undo-button" hidden title="Remove the last question and answer from the conversation">Undo last</button>
<button class="toolbar-button" data-action="clear" title="Remove finished entries from the panel">Clear</button>
</span>
</header>
<main id="entries" aria-live="polite"><p class="empty">Select some code and run a Codex command (Codex: Explain Selection, Codex: Ask…). Answers stream in here.</p></main>
<form class="follow-up" id="follow-up" hidden>
<textarea id="follow-up-input" rows="2" placeholder="Ask a follow-up (Enter sends, Shift+Enter for a new line)"></textarea>
<button type="submit" class="follow-up-send" id="follow-up-send">Send</button>
</form>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
    }

    dispose(): void {
        this.panel?.dispose();
        for (const disposable of this.disposables) disposable.dispose();
    }
}
