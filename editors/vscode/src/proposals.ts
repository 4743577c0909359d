// Edit proposals in VS Code's diff editor (README "Edit runs"): an edit run with `preview` ends
// with its edit proposed, not applied. The selected text is shown against the replacement, and
// Accept (`codex.applyProposal`, which the server applies as one undoable edit), Accept Hunks…
// (the same with `hunks`) and Reject (`codex.discardProposal`) decide, from the diff editor's
// title, the command palette or the answer panel.

import * as vscode from "vscode";
import type { DiffViewer } from "./diff_viewer";
import * as ext from "./lsp_ext";
import { type HunkPick, hunkPick, pickedHunks } from "./proposal_hunks";
import type { RunRecord } from "./run_state";

/// What the proposals need of the extension's context.
export interface ProposalHost {
    executeCommand(command: string, argument: object): Promise<unknown>;
    /// The proposal's range in VS Code's terms (the server's range is in the negotiated encoding).
    range(range: ext.EditReport["range"]): vscode.Range | undefined;
    /// Redraws the run's entry (its proposal was decided).
    render(record: RunRecord): void;
}

export class Proposals {
    /// The proposed side's URI (the diff editor's right side) → its run.
    private readonly byUri = new Map<string, RunRecord>();

    constructor(
        private readonly diffs: DiffViewer,
        private readonly host: ProposalHost,
    ) {}

    /// Opens the run's proposal in the diff editor: the text of the selection now vs the
    /// replacement.
    async open(record: RunRecord): Promise<void> {
        const edit = record.edit;
        if (!record.pendingProposal || edit === undefined) return;
        const uri = vscode.Uri.parse(record.origin.uri);
        const document = await vscode.workspace.openTextDocument(uri);
        const range = this.host.range(edit.range);
        const current = range ? document.getText(range) : "";
        const title = `Codex ${record.title}: ${record.origin.label} (proposed)`;
        const proposed = await this.diffs.showProposal(uri.path, current, edit.replacement, title);
        this.byUri.set(proposed.toString(), record);
    }

    /// The run whose proposal the active diff editor shows.
    active(): RunRecord | undefined {
        const uri = vscode.window.activeTextEditor?.document.uri.toString();
        return uri === undefined ? undefined : this.byUri.get(uri);
    }

    async accept(record: RunRecord, hunks?: number[]): Promise<void> {
        if (!record.pendingProposal || record.runId === undefined) return;
        const argument: ext.ApplyProposalArgs = { runId: record.runId };
        if (hunks !== undefined) argument.hunks = hunks;
        // A refusal (the selected text changed since) is an error answer: the caller shows it,
        // and the proposal stays, to be rejected or run again.
        const answer = ext.parseProposalApplied(await this.host.executeCommand(ext.APPLY_PROPOSAL, argument));
        if (!answer?.applied) {
            void vscode.window.showWarningMessage(`Codex: the edit was not applied${answer?.reason ? `: ${answer.reason}` : "."}`);
            return;
        }
        await this.decided(record, "applied");
    }

    /// Asks which hunks to apply, then applies those.
    async acceptHunks(record: RunRecord): Promise<void> {
        const hunks = record.edit?.hunks ?? [];
        if (!record.pendingProposal) return;
        if (hunks.length === 0) {
            await this.accept(record);
            return;
        }
        const picked = await vscode.window.showQuickPick<HunkPick>(hunks.map(hunkPick), {
            title: `Codex: Accept hunks of ${record.title}`,
            placeHolder: "The hunks to apply (the others are dropped)",
            canPickMany: true,
        });
        if (!picked || picked.length === 0) return;
        await this.accept(
            record,
            pickedHunks(
                hunks,
                picked.map((pick) => pick.index),
            ),
        );
    }

    async reject(record: RunRecord): Promise<void> {
        if (!record.pendingProposal || record.runId === undefined) return;
        const argument: ext.DiscardProposalArgs = { runId: record.runId };
        await this.host.executeCommand(ext.DISCARD_PROPOSAL, argument);
        await this.decided(record, "discarded");
    }

    private async decided(record: RunRecord, outcome: NonNullable<RunRecord["proposalOutcome"]>): Promise<void> {
        record.proposalOutcome = outcome;
        this.host.render(record);
        await this.closeTabs(record);
    }

    /// Closes the diff editors that show the run's proposal: it is decided.
    private async closeTabs(record: RunRecord): Promise<void> {
        const uris = [...this.byUri].filter(([, shown]) => shown === record).map(([uri]) => uri);
        for (const uri of uris) this.byUri.delete(uri);
        const tabs = vscode.window.tabGroups.all
            .flatMap((group) => group.tabs)
            .filter((tab) => tab.input instanceof vscode.TabInputTextDiff && uris.includes(tab.input.modified.toString()));
        if (tabs.length > 0) await vscode.window.tabGroups.close(tabs);
    }
}
