// The extension's state: the language client's lifecycle (start, stop, restart), the runs
// and their streams, the conversations they belong to, and the views that show them (answer
// panel, status bar, proposals in the diff editor).

import * as crypto from "node:crypto";
import * as vscode from "vscode";
import * as lc from "vscode-languageclient/node";
import { AnswerPanel } from "./answerPanel";
import { BootstrapError, type ServerBinary, bootstrap } from "./bootstrap";
import { createClient } from "./client";
import { Config } from "./config";
import { type ConversationThread, followUpArgs } from "./conversation";
import { Conversations } from "./conversations";
import { DiffViewer } from "./diff_viewer";
import * as ext from "./lsp_ext";
import { type ConversationAction, type EntryAction, reviewFindings } from "./panel_model";
import { Proposals } from "./proposals";
import { type RunOrigin, RunRecord, describeServerRun, selectedLines, selectionExcerpt } from "./run_state";
import { SERVER_SECTION } from "./server_config";
import { type ClientState, StatusBar } from "./status_bar";

/// One run as a command asks for it.
export interface RunSpec {
    command: ext.RunCommand;
    /// The entry's title, e.g. "Explain" or "Rewrite: simplify".
    title: string;
    /// What the user asked (a question, an instruction), shown under the title; empty for the
    /// preset commands, whose title says it all.
    prompt: string;
    document: vscode.TextDocument;
    /// The range sent as `range`; undefined for a whole-file run.
    range: vscode.Range | undefined;
    /// The command's own fields besides `textDocument`, `range` and `progressToken`.
    extra?: Record<string, unknown>;
    /// An edit run: the server applies the answer to the document.
    edits?: boolean;
    /// A review run: the answer is findings.
    review?: boolean;
}

/// A run as the panel shows it, and the argument the command is sent with (without its
/// progress token).
interface Launch {
    command: ext.RunCommand;
    title: string;
    prompt: string;
    uri: vscode.Uri;
    range: vscode.Range | undefined;
    edits: boolean;
    review: boolean;
    /// The selected text, shown with the question.
    excerpt?: string;
    argument: (client: lc.LanguageClient) => Record<string, unknown>;
}

/// What the answer panel remembers across a window reload (its webview state).
interface PanelState {
    uri?: unknown;
}

export class Ctx implements vscode.Disposable {
    readonly config = new Config();
    readonly output: vscode.OutputChannel;
    readonly trace: vscode.OutputChannel;
    private readonly statusBar = new StatusBar();
    private readonly panel: AnswerPanel;
    private readonly diffs = new DiffViewer();
    private readonly proposals: Proposals;
    private readonly records = new Map<number, RunRecord>();
    /// How each run was started, so Retry starts it again.
    private readonly launches = new Map<number, Launch>();
    readonly conversations: Conversations;
    private readonly streams = new Map<number, vscode.Disposable>();
    private _client: lc.LanguageClient | undefined;
    private server: ServerBinary | undefined;
    private clientState: ClientState = "stopped";
    private clientError: string | undefined;
    private backendStatus: ext.Status | undefined;
    private starting: Promise<void> | undefined;
    private nextRunId = 1;
    /// Makes this window's progress tokens unique among all clients of a server.
    private readonly session = crypto.randomBytes(4).toString("hex");
    private readonly disposables: vscode.Disposable[] = [];

    constructor(readonly extensionContext: vscode.ExtensionContext) {
        this.output = vscode.window.createOutputChannel("Codex Language Server");
        this.trace = vscode.window.createOutputChannel("Codex Language Server Trace");
        this.panel = new AnswerPanel(extensionContext.extensionUri, {
            entry: (action, id) => void this.reportFailure(this.entryAction(action, id)),
            conversation: (action) => void this.reportFailure(this.conversationAction(action)),
            send: (text) => void this.reportFailure(this.conversations.send(text)),
            openDiff: (id, step, change) => void this.openDiff(id, step, change),
            revealFinding: (id, finding) => void this.revealFinding(id, finding),
        });
        this.conversations = new Conversations(this.panel, {
            executeCommand: (command, argument) => this.executeCommand(command, argument),
            features: () => this.features,
            protocolUri: (uri) => this.protocolUri(uri),
            ready: async () => {
                await this.runningClient();
            },
            followUp: (conversation, prompt) => this.followUp(conversation, prompt),
            render: (record) => this.render(record),
            log: (message) => this.output.appendLine(message),
        }, extensionContext.workspaceState);
        this.proposals = new Proposals(this.diffs, {
            executeCommand: (command, argument) => this.executeCommand(command, argument),
            range: (range) => (range && this._client ? this._client.protocol2CodeConverter.asRange(range) : undefined),
            render: (record) => this.render(record),
        });
        this.disposables.push(
            // A panel open when the window reloaded comes back with its conversation.
            vscode.window.registerWebviewPanelSerializer(AnswerPanel.viewType, {
                deserializeWebviewPanel: async (webviewPanel, state: PanelState | undefined) => {
                    this.panel.revive(webviewPanel);
                    const uri = typeof state?.uri === "string" ? vscode.Uri.parse(state.uri) : undefined;
                    // At start-up the panel can come back before the editors do, and while the
                    // panel has the focus there is no active text editor: without a saved
                    // document, take a visible editor's, else wait for the first one.
                    await this.conversations.restore(
                        uri ?? editorDocument() ?? (await firstActiveEditor(REVIVE_WAIT_MS)),
                    );
                },
            }),
            this.diffs,
            this.output,
            this.trace,
            this.statusBar,
            this.panel,
            vscode.workspace.onDidChangeConfiguration((event) => this.onConfigurationChanged(event)),
        );
    }

    get client(): lc.LanguageClient | undefined {
        return this._client;
    }

    /// Starts the server; a second call while it starts waits for the same start.
    start(): Promise<void> {
        this.starting ??= this.doStart().finally(() => {
            this.starting = undefined;
        });
        return this.starting;
    }

    private async doStart(): Promise<void> {
        this.setClientState("starting");
        let server: ServerBinary;
        try {
            server = await bootstrap(this.extensionContext, this.config, this.output);
        } catch (error) {
            const message = error instanceof BootstrapError ? error.message : String(error);
            this.output.appendLine(`codex-ls is unavailable: ${message}`);
            this.setClientState("unavailable", message);
            void this.showStartError(message);
            return;
        }
        const client = createClient(
            server,
            this.config,
            this.output,
            this.trace,
            (command, argument) => this.runCodeAction(command, argument),
            (changes) => this.reviewChanges(changes),
        );
        client.onDidChangeState((event) => {
            if (this._client !== client) return;
            if (event.newState === lc.State.Running) {
                this.setClientState("running");
                void this.refreshStatus();
            } else if (event.newState === lc.State.Starting) {
                this.setClientState("starting");
            } else {
                this.failActiveRuns("codex-ls stopped while the run was going");
                this.setClientState("stopped");
            }
        });
        this._client = client;
        this.server = server;
        try {
            await client.start();
        } catch (error) {
            const message = `codex-ls failed to start: ${errorMessage(error)}`;
            this.output.appendLine(message);
            this.setClientState("unavailable", message);
            void this.showStartError(message);
            return;
        }
        this.setClientState("running");
        await this.refreshStatus();
    }

    async stop(): Promise<void> {
        await this.starting;
        const client = this._client;
        this._client = undefined;
        this.failActiveRuns("codex-ls was stopped");
        if (client) {
            try {
                await client.stop();
            } catch (error) {
                this.output.appendLine(`stopping codex-ls: ${errorMessage(error)}`);
            }
            await client.dispose();
        }
        this.backendStatus = undefined;
        this.setClientState("stopped");
    }

    async restart(): Promise<void> {
        await this.stop();
        await this.start();
    }

    private async runningClient(): Promise<lc.LanguageClient> {
        if (!this._client?.isRunning()) await this.start();
        const client = this._client;
        if (!client?.isRunning()) throw new Error(this.clientError ?? "codex-ls is not running");
        return client;
    }

    /// Sends one of the server's commands (README "Protocol") and returns its answer.
    async executeCommand(command: string, argument?: object): Promise<unknown> {
        return sendCommand(await this.runningClient(), command, argument);
    }

    async status(): Promise<ext.Status | undefined> {
        await this.refreshStatus();
        return this.backendStatus;
    }

    get serverInfo(): ServerBinary | undefined {
        return this.server;
    }

    get clientProblem(): string | undefined {
        return this.clientError;
    }

    /// Starts a run: an entry in the answer panel, a progress token of its own, and the command.
    startRun(spec: RunSpec): Promise<RunRecord> {
        const document = spec.document;
        return this.launch({
            command: spec.command,
            title: spec.title,
            prompt: spec.prompt,
            uri: document.uri,
            range: spec.range,
            edits: spec.edits ?? false,
            review: spec.review ?? false,
            ...(spec.range ? { excerpt: selectionExcerpt(document.getText(spec.range)) } : {}),
            argument: (client) => ({
                textDocument: { uri: client.code2ProtocolConverter.asUri(document.uri), version: document.version },
                ...(spec.range ? { range: client.code2ProtocolConverter.asRange(spec.range) } : {}),
                ...spec.extra,
            }),
        });
    }

    /// Starts a run that one of the server's code actions asked for, with the argument the
    /// server put in it.
    async runCodeAction(command: ext.RunCommand, argument: Record<string, unknown>): Promise<void> {
        const client = await this.runningClient();
        const textDocument = argument["textDocument"] as { uri?: unknown } | undefined;
        if (typeof textDocument?.uri !== "string") throw new Error(`${command}: no textDocument in the code action`);
        const uri = client.protocol2CodeConverter.asUri(textDocument.uri);
        const range = ext.isRange(argument["range"]) ? client.protocol2CodeConverter.asRange(argument["range"]) : undefined;
        const actionModes = new Map(this.config.actions.map((action) => [action.title, action.mode]));
        const run = describeServerRun(command, argument, actionModes);
        const document = vscode.workspace.textDocuments.find((open) => open.uri.toString() === uri.toString());
        const excerpt = range && document ? selectionExcerpt(document.getText(range)) : undefined;
        await this.launch({
            ...(excerpt !== undefined ? { excerpt } : {}),
            command,
            title: run.title,
            prompt: run.prompt ?? "",
            uri,
            range,
            edits: run.edits,
            review: run.review ?? false,
            argument: () => argument,
        });
    }

    private async launch(launch: Launch): Promise<RunRecord> {
        const id = this.nextRunId++;
        const origin: RunOrigin = { uri: launch.uri.toString(), label: vscode.workspace.asRelativePath(launch.uri, false) };
        const lines = launch.range && selectedLines(launch.range.start, launch.range.end);
        if (lines) origin.lines = lines;
        if (launch.excerpt !== undefined) origin.excerpt = launch.excerpt;
        const record = new RunRecord({
            id,
            title: launch.title,
            prompt: launch.prompt,
            origin,
            token: `codex-ls-vscode/${this.session}/${id}`,
            edits: launch.edits,
            review: launch.review,
        });
        this.records.set(id, record);
        this.launches.set(id, launch);
        const conversation = this.conversations.of(launch.uri);
        conversation.addRun(record);
        this.panel.show(true);
        // The panel shows the conversation the user is asking in now.
        if (this.conversations.shown === conversation) this.render(record);
        else this.conversations.show(conversation);

        let client: lc.LanguageClient;
        try {
            client = await this.runningClient();
        } catch (error) {
            record.fail({ code: "backend-unavailable", message: errorMessage(error) });
            this.render(record);
            return record;
        }
        // Listen before asking: the first reports may arrive before the command's answer.
        this.streams.set(
            id,
            client.onProgress(lc.WorkDoneProgress.type, record.token, (value) => this.onProgress(record, value)),
        );
        try {
            const answer = await sendCommand(client, launch.command, { ...launch.argument(client), progressToken: record.token });
            const started = ext.parseRunStarted(answer);
            if (started) record.started(started.runId);
        } catch (error) {
            record.fail({ code: "rejected", message: errorMessage(error) });
            this.endStream(record);
            const busy = ext.parseBusyRefusal(error);
            if (busy) void this.reportFailure(this.offerSteer(conversation, busy, launch.prompt));
        }
        this.render(record);
        return record;
    }

    /// A run refused because its conversation has a run going (maybe started elsewhere: a code
    /// action, another window): offer to steer that run with the same question, or to cancel it.
    private async offerSteer(conversation: ConversationThread, busy: ext.BusyData, prompt: string): Promise<void> {
        const runId = busy.runIds[0];
        if (runId === undefined) return;
        const steer = prompt ? ["Steer the running turn"] : [];
        const choice = await vscode.window.showWarningMessage(
            `Codex: ${conversation.label} has a run going; this one was not started.`,
            ...steer,
            "Cancel the running turn",
        );
        const running = [...this.records.values()].find((record) => record.runId === runId && record.active);
        if (choice === "Steer the running turn") {
            if (running) await this.conversations.steer(running, prompt);
            else await this.executeCommand(ext.STEER, { runId, prompt } satisfies ext.SteerArgs);
        } else if (choice === "Cancel the running turn") {
            if (running) await this.cancel([running]);
            else await this.executeCommand(ext.CANCEL, { runId } satisfies ext.CancelArgs);
        }
    }

    private onProgress(record: RunRecord, value: unknown): void {
        const progress = ext.parseProgress(value);
        if (progress === undefined) return;
        const changed = record.apply(progress);
        if (changed) {
            this.conversations.noteThread(record);
            this.render(record);
        }
        if (progress.kind === "end" && record.pendingProposal) void this.reportFailure(this.proposals.open(record));
        const firstReport = progress.kind === "report" && progress.codex.seq === 1;
        if (progress.kind === "begin" || progress.kind === "end" || firstReport) void this.refreshStatus();
        if (progress.kind === "end") this.endStream(record);
    }

    private endStream(record: RunRecord): void {
        this.streams.get(record.id)?.dispose();
        this.streams.delete(record.id);
    }

    activeRuns(): RunRecord[] {
        return [...this.records.values()].filter((record) => record.active);
    }

    async cancel(records: RunRecord[]): Promise<void> {
        for (const record of records) {
            if (!record.active) continue;
            record.requestCancel();
            try {
                await this.executeCommand(ext.CANCEL, { token: record.token } satisfies ext.CancelArgs);
            } catch (error) {
                this.output.appendLine(`cancelling run ${record.id}: ${errorMessage(error)}`);
            }
        }
    }

    private failActiveRuns(message: string): void {
        for (const record of this.activeRuns()) {
            record.fail({ code: "backend-unavailable", message });
            this.endStream(record);
            this.render(record);
        }
    }

    /// Drops the shown conversation's finished exchanges from the panel ("Clear").
    private clearFinished(): void {
        for (const record of this.conversations.clearShown()) {
            this.records.delete(record.id);
            this.launches.delete(record.id);
        }
    }

    showAnswers(): void {
        this.panel.show(false);
        // After a reload the panel starts empty: the active document's conversation comes back
        // from Codex.
        if (this.conversations.shown === undefined) void this.conversations.restore(editorDocument());
    }

    /// The run of a panel entry; a turn read from Codex has none.
    private recordOf(id: string): RunRecord | undefined {
        return /^\d+$/.test(id) ? this.records.get(Number(id)) : undefined;
    }

    private async entryAction(action: EntryAction, id: string): Promise<void> {
        const record = this.recordOf(id);
        switch (action) {
            case "cancel":
                if (record) await this.cancel([record]);
                return;
            case "showDiagnostic":
                await this.showDiagnostic(id);
                return;
            case "retry":
                await this.retry(id);
                return;
            case "acceptProposal":
                if (record) await this.proposals.accept(record);
                return;
            case "rejectProposal":
                if (record) await this.proposals.reject(record);
                return;
            case "openProposal":
                if (record) await this.proposals.open(record);
                return;
        }
    }

    private async conversationAction(action: ConversationAction): Promise<void> {
        switch (action) {
            case "fork":
                await this.conversations.fork();
                return;
            case "undo":
                await this.conversations.undoLast();
                return;
            case "newConversation": {
                const shown = this.conversations.shown;
                const uri = shown ? vscode.Uri.parse(shown.uri) : vscode.window.activeTextEditor?.document.uri;
                if (uri) await this.conversations.newConversation(uri);
                return;
            }
            case "pickConversation":
                await this.conversations.pick();
                return;
            case "clear":
                this.clearFinished();
                return;
        }
    }

    /// The accept, accept-hunks and reject commands: the proposal of the run given (from the
    /// panel), else the one the active diff editor shows, else the only one pending.
    async decideProposal(decision: "accept" | "acceptHunks" | "reject", runId?: number): Promise<void> {
        const pending = [...this.records.values()].filter((record) => record.pendingProposal);
        const record =
            (runId !== undefined ? this.records.get(runId) : undefined) ??
            this.proposals.active() ??
            (pending.length === 1 ? pending[0] : undefined);
        if (record === undefined || !record.pendingProposal) {
            void vscode.window.showInformationMessage(
                pending.length === 0 ? "Codex: no proposed edit is waiting." : "Codex: open the proposal's diff editor first.",
            );
            return;
        }
        if (decision === "accept") await this.proposals.accept(record);
        else if (decision === "acceptHunks") await this.proposals.acceptHunks(record);
        else await this.proposals.reject(record);
    }

    /// What this server can do with conversations (it advertises its commands at initialize).
    get features(): ext.ServerFeatures {
        const commands = this._client?.initializeResult?.capabilities.executeCommandProvider?.commands;
        return ext.serverFeatures(commands);
    }

    /// Asks `prompt` in the conversation: `codex.run` on its document (opened, so the server has
    /// it) with its thread (a server from before conversations continues the document's thread
    /// anyway).
    private async followUp(conversation: ConversationThread, prompt: string): Promise<void> {
        const uri = vscode.Uri.parse(conversation.uri);
        const document = await Promise.resolve(vscode.workspace.openTextDocument(uri)).catch(() => undefined);
        if (document === undefined) throw new Error(`${conversation.label} cannot be opened to continue its conversation.`);
        const features = this.features;
        await this.launch({
            command: ext.RUN,
            title: "Ask",
            prompt,
            uri,
            range: undefined,
            edits: false,
            review: false,
            argument: (client) => ({
                ...followUpArgs(
                    prompt,
                    conversation.threadId,
                    { uri: client.code2ProtocolConverter.asUri(document.uri), version: document.version },
                    features.conversations,
                ),
            }),
        });
    }

    /// Asks an exchange's question again: a run as it was started, or a turn's prompt.
    private async retry(id: string): Promise<void> {
        const launch = this.recordOf(id) && this.launches.get(Number(id));
        if (launch) {
            await this.launch(launch);
            return;
        }
        const conversation = this.conversations.shown;
        const turn = conversation?.turn(id.replace(/^turn-/, ""));
        if (conversation && turn?.prompt) await this.followUp(conversation, turn.prompt);
    }

    private protocolUri(uri: vscode.Uri): string {
        return this._client ? this._client.code2ProtocolConverter.asUri(uri) : uri.toString();
    }

    /// Shows a failure of a panel button, which has no command to report it.
    private async reportFailure(work: Promise<void>): Promise<void> {
        try {
            await work;
        } catch (error) {
            void vscode.window.showErrorMessage(`Codex: ${errorMessage(error)}`);
        }
    }

    /// Opens the document at the failure's diagnostic and the Problems panel.
    private async showDiagnostic(id: string): Promise<void> {
        const record = this.recordOf(id);
        if (!record) return;
        const uri = vscode.Uri.parse(record.origin.uri);
        const diagnostic = vscode.languages
            .getDiagnostics(uri)
            .find((candidate) => candidate.source === "codex" && diagnosticCode(candidate) === record.error?.code);
        const lines = record.origin.lines;
        const range =
            diagnostic?.range ?? (lines ? new vscode.Range(lines.start, 0, lines.end, 0) : new vscode.Range(0, 0, 0, 0));
        const column = vscode.window.visibleTextEditors.find((editor) => editor.document.uri.toString() === record.origin.uri)
            ?.viewColumn;
        await vscode.window.showTextDocument(uri, { selection: range, viewColumn: column ?? vscode.ViewColumn.One });
        await vscode.commands.executeCommand("workbench.panel.markers.view.focus");
    }

    /// Opens the diff of one file of a run's file-change step.
    private async openDiff(id: string, stepId: string, index: number): Promise<void> {
        const record = this.recordOf(id);
        const change = record?.steps.list.find((step) => step.id === stepId)?.changes?.[index];
        if (record && change) await this.diffs.show(change, `Codex ${record.title}`);
    }

    /// The approval's file changes, one diff editor each, before the user decides.
    private async reviewChanges(changes: ext.FileChange[]): Promise<void> {
        for (const change of changes) await this.diffs.show(change, "Codex wants to change");
    }

    /// Opens the reviewed document at a finding's lines (1-based in the review's answer).
    private async revealFinding(id: string, index: number): Promise<void> {
        const record = this.recordOf(id);
        const finding = record && reviewFindings(record.text)?.[index];
        if (!record || !finding) return;
        const range = new vscode.Range(finding.startLine - 1, 0, finding.endLine - 1, Number.MAX_SAFE_INTEGER);
        const uri = vscode.Uri.parse(record.origin.uri);
        const column = vscode.window.visibleTextEditors.find((editor) => editor.document.uri.toString() === record.origin.uri)
            ?.viewColumn;
        const editor = await vscode.window.showTextDocument(uri, { selection: range, viewColumn: column ?? vscode.ViewColumn.One });
        editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }

    private render(record: RunRecord): void {
        this.conversations.rendered(record);
        const active = this.activeRuns();
        // The step of the run that changed last, else of any run still going.
        const step = (record.active ? record.currentStep : undefined) ?? [...active].reverse().find((run) => run.currentStep)?.currentStep;
        this.statusBar.showRuns(active.length, step);
    }

    private setClientState(state: ClientState, error?: string): void {
        this.clientState = state;
        this.clientError = error;
        this.updateStatusBar();
    }

    private async refreshStatus(): Promise<void> {
        const client = this._client;
        if (client?.isRunning()) {
            try {
                this.backendStatus = ext.parseStatus(await sendCommand(client, ext.STATUS));
            } catch (error) {
                this.output.appendLine(`codex.status: ${errorMessage(error)}`);
            }
        }
        this.updateStatusBar();
    }

    private updateStatusBar(): void {
        this.statusBar.showBackend({
            client: this.clientState,
            clientError: this.clientError,
            serverVersion: this.server?.version,
            serverPath: this.server?.path,
            status: this.clientState === "running" ? this.backendStatus : undefined,
        });
    }

    private async showStartError(message: string): Promise<void> {
        const choice = await vscode.window.showErrorMessage(`Codex: ${message}`, "Open settings", "Show logs");
        if (choice === "Open settings") {
            await vscode.commands.executeCommand("workbench.action.openSettings", "codexLs.server.path");
        } else if (choice === "Show logs") {
            this.output.show();
        }
    }

    private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
        if (Config.needsRestart(event)) {
            void vscode.window
                .showInformationMessage("Codex: the server settings changed. Restart codex-ls to use them?", "Restart")
                .then((choice) => (choice === "Restart" ? this.restart() : undefined));
            return;
        }
        if (Config.affectsServerConfig(event) && this._client?.isRunning()) {
            void this._client.sendNotification(lc.DidChangeConfigurationNotification.type, {
                settings: { [SERVER_SECTION]: this.config.serverConfig() },
            });
        }
    }

    dispose(): void {
        for (const stream of this.streams.values()) stream.dispose();
        for (const disposable of this.disposables) disposable.dispose();
    }
}

/// Sends one of the server's commands (README "Protocol") with its one argument object, if any.
function sendCommand(client: lc.LanguageClient, command: string, argument?: object): Promise<unknown> {
    return client.sendRequest(lc.ExecuteCommandRequest.type, {
        command,
        arguments: argument === undefined ? [] : [argument],
    });
}

function diagnosticCode(diagnostic: vscode.Diagnostic): string | number | undefined {
    const code = diagnostic.code;
    return typeof code === "object" ? code.value : code;
}

export function errorMessage(error: unknown): string {
    if (error instanceof Error) return error.message;
    return String(error);
}

/// How long a revived panel waits for an editor to show the conversation of.
const REVIVE_WAIT_MS = 15_000;

/// The active text editor's document, else the first visible file editor's.
function editorDocument(): vscode.Uri | undefined {
    return (
        vscode.window.activeTextEditor?.document.uri ??
        vscode.window.visibleTextEditors.find((editor) => editor.document.uri.scheme === "file")?.document.uri
    );
}

/// The document of the first editor that becomes active within `timeoutMs`.
function firstActiveEditor(timeoutMs: number): Promise<vscode.Uri | undefined> {
    return new Promise((resolve) => {
        const done = (uri: vscode.Uri | undefined) => {
            clearTimeout(timer);
            subscription.dispose();
            resolve(uri);
        };
        const timer = setTimeout(() => done(undefined), timeoutMs);
        const subscription = vscode.window.onDidChangeActiveTextEditor((editor) => {
            if (editor) done(editor.document.uri);
        });
    });
}
