// Two status bar items: the backend's state (the server and the Codex app-server behind it),
// and, while runs are active, a spinner with their count that cancels on click.

import * as vscode from "vscode";
import type { Status } from "./lsp_ext";
import { runsText } from "./run_state";

/// The language client's own state, before the backend's.
export type ClientState = "stopped" | "starting" | "running" | "unavailable";

export interface BackendView {
    client: ClientState;
    /// Why the client is unavailable.
    clientError?: string;
    serverVersion?: string;
    serverPath?: string;
    status?: Status;
}

export class StatusBar implements vscode.Disposable {
    private readonly state: vscode.StatusBarItem;
    private readonly runs: vscode.StatusBarItem;

    constructor() {
        this.state = vscode.window.createStatusBarItem("codexLs.state", vscode.StatusBarAlignment.Right, 100);
        this.state.name = "Codex State";
        this.state.command = "codexLs.showStatus";
        this.runs = vscode.window.createStatusBarItem("codexLs.runs", vscode.StatusBarAlignment.Right, 101);
        this.runs.name = "Codex Runs";
        this.runs.command = "codexLs.cancel";
        this.showBackend({ client: "stopped" });
        this.state.show();
    }

    showBackend(view: BackendView): void {
        const { label, icon, warn } = describe(view);
        this.state.text = `${icon} Codex`;
        this.state.backgroundColor = warn ? new vscode.ThemeColor("statusBarItem.warningBackground") : undefined;
        const tooltip = new vscode.MarkdownString(undefined, true);
        tooltip.appendMarkdown(`**Codex: ${label}**\n\n`);
        if (view.serverVersion) tooltip.appendMarkdown(`codex-ls ${view.serverVersion}`);
        if (view.serverPath) tooltip.appendText(` (${view.serverPath})`);
        const backend = view.status?.backend;
        if (backend) {
            tooltip.appendMarkdown(`\n\nCodex CLI: ${backend.codexVersion ?? "not started yet"}`);
            tooltip.appendText(` (${backend.codexPath})`);
            if (backend.lastError) tooltip.appendText(`\n\nLast error: ${backend.lastError}`);
        }
        if (view.clientError) tooltip.appendText(`\n\n${view.clientError}`);
        tooltip.appendMarkdown("\n\nClick for the status.");
        this.state.tooltip = tooltip;
        this.state.accessibilityInformation = { label: `Codex: ${label}` };
    }

    /// `step` is what the agent does now, in words (a report's `message`), e.g. "Running `cargo test`".
    showRuns(active: number, step?: string): void {
        if (active === 0) {
            this.runs.hide();
            return;
        }
        this.runs.text = runsText(active, step);
        this.runs.tooltip = `${step ? `Codex: ${step}\n\n` : ""}Codex is answering. Click to cancel.`;
        this.runs.accessibilityInformation = { label: `Codex: ${active} active, click to cancel` };
        this.runs.show();
    }

    dispose(): void {
        this.state.dispose();
        this.runs.dispose();
    }
}

function describe(view: BackendView): { label: string; icon: string; warn: boolean } {
    switch (view.client) {
        case "stopped":
            return { label: "stopped", icon: "$(circle-slash)", warn: false };
        case "starting":
            return { label: "starting", icon: "$(loading~spin)", warn: false };
        case "unavailable":
            return { label: "unavailable", icon: "$(error)", warn: true };
        case "running":
            break;
    }
    switch (view.status?.backend.state) {
        case "starting":
            return { label: "starting Codex", icon: "$(loading~spin)", warn: false };
        case "unavailable":
            return { label: "Codex unavailable", icon: "$(warning)", warn: true };
        case "ready":
            return { label: "ready", icon: "$(sparkle)", warn: false };
        default:
            // The app-server starts with the first run.
            return { label: "ready (Codex starts with the first run)", icon: "$(sparkle)", warn: false };
    }
}
