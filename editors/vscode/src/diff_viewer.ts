// Shows a file change in VS Code's diff editor: both sides are virtual documents (scheme
// `codex-diff`) built from the change's diff, so it works before the change is made (an
// approval) and after (a step of the run), for added, deleted and updated files alike.

import * as vscode from "vscode";
import type { FileChange } from "./lsp_ext";
import { diffSides } from "./unified_diff";

const SCHEME = "codex-diff";

export class DiffViewer implements vscode.Disposable {
    /// The sides' texts by URI; each shown change gets new URIs, so a document never goes stale.
    private readonly texts = new Map<string, string>();
    private next = 1;
    private readonly registration: vscode.Disposable;

    constructor() {
        this.registration = vscode.workspace.registerTextDocumentContentProvider(SCHEME, {
            provideTextDocumentContent: (uri) => this.texts.get(uri.toString()) ?? "",
        });
    }

    async show(change: FileChange, label: string): Promise<void> {
        const sides = diffSides(change);
        const serial = this.next++;
        // The file's own name and extension, so the diff editor highlights its language.
        const left = this.side(change.path, `before-${serial}`, sides.before);
        const right = this.side(change.path, `after-${serial}`, sides.after);
        // Codex gives absolute paths; the tab names the file as the Explorer does.
        const name = vscode.workspace.asRelativePath(change.path, false);
        await vscode.commands.executeCommand("vscode.diff", left, right, `${label}: ${name} (${change.kind})`, {
            preview: false,
        });
    }

    private side(path: string, version: string, text: string): vscode.Uri {
        const uri = vscode.Uri.from({ scheme: SCHEME, path: `/${version}/${path.replace(/^\/+/, "")}` });
        this.texts.set(uri.toString(), text);
        return uri;
    }

    dispose(): void {
        this.registration.dispose();
        this.texts.clear();
    }
}
