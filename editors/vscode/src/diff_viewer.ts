// Shows a file change in VS Code's diff editor: both sides are virtual documents (scheme
// `codex-diff`) built from the change's diff, so it works before the change is made (an
// approval) and after (a step of the run), for added, deleted and updated files alike.
// A proposed edit (README "Edit runs") is shown the same way, its proposed side in a scheme of
// its own (`codex-proposal`), so the diff editor's title has Accept and Reject only there.

import * as vscode from "vscode";
import type { FileChange } from "./lsp_ext";
import { diffSides } from "./unified_diff";

export const DIFF_SCHEME = "codex-diff";
/// The proposed side of an edit proposal; `package.json` shows Accept and Reject for it.
export const PROPOSAL_SCHEME = "codex-proposal";

export class DiffViewer implements vscode.Disposable {
    /// The sides' texts by URI; each shown change gets new URIs, so a document never goes stale.
    private readonly texts = new Map<string, string>();
    private next = 1;
    private readonly registrations: vscode.Disposable[];

    constructor() {
        const provider: vscode.TextDocumentContentProvider = {
            provideTextDocumentContent: (uri) => this.texts.get(uri.toString()) ?? "",
        };
        this.registrations = [
            vscode.workspace.registerTextDocumentContentProvider(DIFF_SCHEME, provider),
            vscode.workspace.registerTextDocumentContentProvider(PROPOSAL_SCHEME, provider),
        ];
    }

    /// Shows the selected text against the proposed replacement; returns the proposed side's
    /// URI, which names the proposal to Accept and Reject.
    async showProposal(path: string, current: string, proposed: string, title: string): Promise<vscode.Uri> {
        const serial = this.next++;
        const left = this.side(path, `selected-${serial}`, current);
        const right = this.side(path, `proposed-${serial}`, proposed, PROPOSAL_SCHEME);
        await vscode.commands.executeCommand("vscode.diff", left, right, title, { preview: false });
        return right;
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

    private side(path: string, version: string, text: string, scheme = DIFF_SCHEME): vscode.Uri {
        const uri = vscode.Uri.from({ scheme, path: `/${version}/${path.replace(/^\/+/, "")}` });
        this.texts.set(uri.toString(), text);
        return uri;
    }

    dispose(): void {
        for (const registration of this.registrations) registration.dispose();
        this.texts.clear();
    }
}
