// The conversations the answer panel shows, one per document, and what its conversation
// buttons and follow-up input do: steer the running turn, fork, undo the last exchange, start a
// new conversation, pick an earlier one, and read a conversation back from Codex after a window
// reload. The merging rules are pure, in conversation.ts; this is the VS Code side.

import * as vscode from "vscode";
import type { AnswerPanel } from "./answerPanel";
import { ConversationThread, followUpAction } from "./conversation";
import { DIFF_SCHEME, PROPOSAL_SCHEME } from "./diff_viewer";
import * as ext from "./lsp_ext";
import { type PanelConversation, exchangeEntry, panelEntry } from "./panel_model";
import type { RunRecord } from "./run_state";

/// What the conversations need of the extension's context.
export interface ConversationHost {
    executeCommand(command: string, argument: object): Promise<unknown>;
    /// What the running server can do (it advertises its commands at initialize).
    features(): ext.ServerFeatures;
    protocolUri(uri: vscode.Uri): string;
    /// Waits for the server to run (a panel revived at start-up asks before it has).
    ready(): Promise<void>;
    /// Asks `prompt` as a new turn of the conversation.
    followUp(conversation: ConversationThread, prompt: string): Promise<void>;
    /// Redraws a run's entry and the status bar.
    render(record: RunRecord): void;
    log(message: string): void;
}

export class Conversations {
    /// Each document's conversation (by URI).
    private readonly byUri = new Map<string, ConversationThread>();
    /// The ones New conversation, Fork or a pick replaced, still offered by Conversations… when
    /// the server cannot list Codex's own.
    private readonly earlier: ConversationThread[] = [];
    /// The conversation the panel shows.
    shown: ConversationThread | undefined;

    constructor(
        private readonly panel: AnswerPanel,
        private readonly host: ConversationHost,
        /// The workspace's memory of each document's thread. A new codex-ls (after a window
        /// reload or a restart) has no binding of its own, so the thread is named to it again.
        private readonly memory: vscode.Memento,
    ) {}

    private static readonly THREADS_KEY = "codexLs.conversationThreads";

    private rememberedThreads(): Record<string, string> {
        return this.memory.get<Record<string, string>>(Conversations.THREADS_KEY) ?? {};
    }

    private remember(conversation: ConversationThread): void {
        // Only the document's current conversation is what its next run continues.
        if (this.byUri.get(conversation.uri) !== conversation) return;
        const threads = this.rememberedThreads();
        if (threads[conversation.uri] === conversation.threadId) return;
        if (conversation.threadId === undefined) delete threads[conversation.uri];
        else threads[conversation.uri] = conversation.threadId;
        void this.memory.update(Conversations.THREADS_KEY, threads);
    }

    /// Draws a run that changed, if the panel shows its conversation (with the header: the
    /// input's button and Undo follow whether a turn runs).
    rendered(record: RunRecord): void {
        const shown = this.shown;
        if (!shown?.has(record)) return;
        this.panel.update(panelEntry(record));
        this.panel.setHeader(this.header(shown));
    }

    /// Takes the thread id a run's reports name, for the run's conversation.
    noteThread(record: RunRecord): void {
        const conversation = this.byUri.get(record.origin.uri);
        if (conversation === undefined) return;
        conversation.noteThread(record);
        this.remember(conversation);
    }

    /// Drops the shown conversation's finished exchanges from the panel ("Clear"); returns the
    /// runs dropped.
    clearShown(): RunRecord[] {
        const conversation = this.shown;
        if (conversation === undefined) return [];
        const dropped = conversation.clearFinished();
        this.show(conversation);
        return dropped;
    }

    /// The document's conversation, made when it has none yet.
    of(uri: vscode.Uri): ConversationThread {
        const key = uri.toString();
        let conversation = this.byUri.get(key);
        if (conversation === undefined) {
            conversation = new ConversationThread(key, vscode.workspace.asRelativePath(uri, false));
            this.byUri.set(key, conversation);
        }
        return conversation;
    }

    /// Makes `next` the document's conversation, keeping the one it replaces for the picker.
    private replace(next: ConversationThread): void {
        const previous = this.byUri.get(next.uri);
        if (previous && previous !== next && !previous.isEmpty) this.earlier.push(previous);
        this.byUri.set(next.uri, next);
        this.remember(next);
        this.show(next);
    }

    show(conversation: ConversationThread): void {
        this.shown = conversation;
        const entries = conversation.exchanges().map((exchange) => exchangeEntry(exchange, conversation.label));
        this.panel.showConversation(this.header(conversation), entries);
    }

    private header(conversation: ConversationThread): PanelConversation {
        const features = this.host.features();
        const busy = conversation.busyRun();
        const action = followUpAction(busy, features.steer);
        const hasThread = conversation.threadId !== undefined;
        return {
            uri: conversation.uri,
            title: conversation.title,
            label: conversation.label,
            busy: busy !== undefined,
            inputLabel: action.kind === "steer" ? "Steer" : action.kind === "wait" ? "Wait…" : "Send",
            canFork: features.fork && hasThread && !conversation.isEmpty,
            canUndo: features.undo && hasThread && busy === undefined && !conversation.isEmpty,
        };
    }

    /// The follow-up input: a new turn of the shown conversation, or input for its running turn.
    async send(text: string): Promise<void> {
        const conversation = this.shown;
        if (conversation === undefined) return;
        const busy = conversation.busyRun();
        const action = followUpAction(busy, this.host.features().steer);
        if (action.kind === "wait") {
            void vscode.window.showInformationMessage(`Codex: ${action.reason}.`);
            return;
        }
        if (action.kind === "steer" && busy) {
            await this.steer(busy, text);
            return;
        }
        await this.host.followUp(conversation, text);
    }

    async steer(record: RunRecord, prompt: string): Promise<void> {
        if (record.runId === undefined) return;
        const argument: ext.SteerArgs = { runId: record.runId, prompt };
        await this.host.executeCommand(ext.STEER, argument);
        record.steers.push(prompt);
        this.host.render(record);
    }

    /// The next run on the document starts a new conversation (`codex.newThread`).
    async newConversation(uri: vscode.Uri): Promise<void> {
        const argument: ext.NewThreadArgs = { textDocument: { uri: this.host.protocolUri(uri) }, scope: "document" };
        await this.host.executeCommand(ext.NEW_THREAD, argument);
        this.replace(new ConversationThread(uri.toString(), vscode.workspace.asRelativePath(uri, false)));
    }

    async fork(): Promise<void> {
        const conversation = this.shown;
        if (conversation?.threadId === undefined) return;
        const forkArgs: ext.ForkArgs = { threadId: conversation.threadId };
        const fork = ext.parseThreadRef(await this.host.executeCommand(ext.FORK, forkArgs));
        if (fork === undefined) throw new Error("codex.fork gave no thread");
        await this.open(vscode.Uri.parse(conversation.uri), fork.threadId);
    }

    async undoLast(): Promise<void> {
        const conversation = this.shown;
        if (conversation?.threadId === undefined) return;
        const argument: ext.UndoLastArgs = { threadId: conversation.threadId };
        await this.host.executeCommand(ext.UNDO_LAST, argument);
        await this.reload(conversation, { threadId: conversation.threadId });
    }

    /// Binds the document to an earlier thread and shows it.
    private async open(uri: vscode.Uri, threadId: string): Promise<void> {
        const argument: ext.OpenConversationArgs = { threadId, textDocument: { uri: this.host.protocolUri(uri) }, scope: "document" };
        await this.host.executeCommand(ext.OPEN_CONVERSATION, argument);
        const conversation = new ConversationThread(uri.toString(), vscode.workspace.asRelativePath(uri, false));
        await this.reload(conversation, { threadId });
        this.replace(conversation);
    }

    /// Reads the conversation from Codex into `conversation`, and redraws it if it is shown.
    private async reload(conversation: ConversationThread, argument: ext.ConversationArgs): Promise<boolean> {
        const read = ext.parseConversation(await this.host.executeCommand(ext.CONVERSATION, argument));
        if (read === null) return false;
        conversation.load(read);
        this.remember(conversation);
        if (this.shown === conversation) this.show(conversation);
        return true;
    }

    /// Shows the document's conversation as Codex keeps it (after a window reload, or when the
    /// panel opens with nothing in it). The thread this workspace remembers for the document is
    /// bound to it again (`codex.openConversation`), as a new codex-ls knows no binding; without
    /// one, the server's own binding is asked for. A server from before conversations has none.
    async restore(uri: vscode.Uri | undefined): Promise<void> {
        // A diff editor's sides are Codex's own virtual documents, with no conversation.
        if (uri === undefined || uri.scheme === DIFF_SCHEME || uri.scheme === PROPOSAL_SCHEME) return;
        try {
            await this.host.ready();
            if (!this.host.features().conversations) return;
            const threadId = this.rememberedThreads()[uri.toString()];
            if (threadId !== undefined) {
                await this.open(uri, threadId);
                return;
            }
            const conversation = this.of(uri);
            const argument: ext.ConversationArgs = { textDocument: { uri: this.host.protocolUri(uri) }, scope: "document" };
            await this.reload(conversation, argument);
            if (!conversation.isEmpty && this.shown === undefined) this.show(conversation);
        } catch (error) {
            this.host.log(`restoring the conversation of ${uri.toString()}: ${error instanceof Error ? error.message : String(error)}`);
        }
    }

    /// Conversations…: Codex's earlier conversations of the workspace (bound to the shown
    /// document when picked), or this window's when the server cannot list them.
    async pick(): Promise<void> {
        const uri = this.shown ? vscode.Uri.parse(this.shown.uri) : vscode.window.activeTextEditor?.document.uri;
        if (!this.host.features().conversations || uri === undefined) {
            await this.pickLocal();
            return;
        }
        const folder = vscode.workspace.getWorkspaceFolder(uri)?.uri;
        const argument: ext.ConversationsArgs = folder ? { folder: this.host.protocolUri(folder) } : {};
        const { conversations } = ext.parseConversationList(await this.host.executeCommand(ext.CONVERSATIONS, argument));
        const picked = await vscode.window.showQuickPick(
            conversations.map((summary) => ({
                label: summary.title || summary.threadId,
                description: `${summary.turns} ${summary.turns === 1 ? "exchange" : "exchanges"}`,
                detail: summary.updatedAt === null ? undefined : `updated ${new Date(summary.updatedAt * 1000).toLocaleString()}`,
                threadId: summary.threadId,
            })),
            { title: `Codex: Earlier conversations (the one you pick continues in ${vscode.workspace.asRelativePath(uri, false)})` },
        );
        if (picked) await this.open(uri, picked.threadId);
    }

    private async pickLocal(): Promise<void> {
        const all = [...this.byUri.values(), ...this.earlier].filter((candidate) => !candidate.isEmpty);
        if (all.length === 0) {
            void vscode.window.showInformationMessage("Codex: no conversations yet.");
            return;
        }
        const picked = await vscode.window.showQuickPick(
            all.map((conversation) => ({
                label: conversation.title,
                description: conversation.label,
                detail: `${conversation.exchanges().length} exchanges${this.byUri.get(conversation.uri) === conversation ? "" : " (earlier)"}`,
                conversation,
            })),
            { title: "Codex: Conversations in this window" },
        );
        if (picked) this.show(picked.conversation);
    }
}
