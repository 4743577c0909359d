// The conversations the answer panel shows: one per document (the server binds each document to
// one Codex thread, README "How a run works"), made of the turns Codex keeps (`codex.conversation`,
// which survives a window reload) and the runs started in this window, which stream. Pure, so the
// rules that merge the two are unit-tested: a run and the turn it became are one exchange, and a
// reload from the server drops finished runs whose turn is gone (undone, or another thread's).

import type { Conversation, ConversationTurn, RunArgs, TextDocumentRef } from "./lsp_ext";
import type { RunRecord } from "./run_state";

/// One exchange as the panel shows it: a run of this window (live, with its buttons) or a turn
/// read from Codex (earlier, or from before a reload).
export type Exchange = { kind: "run"; run: RunRecord } | { kind: "turn"; turn: ConversationTurn };

export class ConversationThread {
    /// The Codex thread, once the server named it (a run's report, or `codex.conversation`).
    threadId: string | undefined;
    /// The server's title; else the first question.
    private serverTitle = "";
    private history: ConversationTurn[] = [];
    private readonly runs: RunRecord[] = [];

    constructor(
        /// The document the conversation is bound to (its URI as VS Code writes it).
        readonly uri: string,
        /// A short name for the document, e.g. "src/lib.rs".
        readonly label: string,
    ) {}

    get title(): string {
        if (this.serverTitle) return this.serverTitle;
        const first = this.exchanges()[0];
        if (first === undefined) return "New conversation";
        return first.kind === "turn" ? first.turn.prompt || first.turn.title : first.run.prompt || first.run.title;
    }

    addRun(run: RunRecord): void {
        this.runs.push(run);
    }

    /// Takes the thread id a run's reports name, so a follow-up continues that thread.
    noteThread(run: RunRecord): void {
        if (run.threadId !== null && run.threadId !== undefined && this.runs.includes(run)) this.threadId = run.threadId;
    }

    /// Replaces the history with what Codex keeps. A finished run whose turn is not in it any
    /// more (the last exchange was undone, or the conversation is another thread now) leaves the
    /// view; runs still going, and runs that never got a turn (refused, failed to start) stay.
    load(conversation: Conversation): void {
        this.threadId = conversation.threadId;
        this.serverTitle = conversation.title;
        this.history = conversation.turns;
        const turns = new Set(conversation.turns.map((turn) => turn.turnId));
        for (let index = this.runs.length - 1; index >= 0; index--) {
            const run = this.runs[index];
            if (run && !run.active && run.turnId !== undefined && !turns.has(run.turnId)) this.runs.splice(index, 1);
        }
    }

    /// Drops the finished runs and the history from the view ("Clear"); Codex keeps the thread.
    clearFinished(): RunRecord[] {
        this.history = [];
        const finished = this.runs.filter((run) => !run.active);
        for (const run of finished) this.runs.splice(this.runs.indexOf(run), 1);
        return finished;
    }

    /// The exchanges in order: Codex's turns (each shown by its run when this window started
    /// it), then the runs that are not a turn of the history yet.
    exchanges(): Exchange[] {
        const byTurn = new Map<string, RunRecord>();
        for (const run of this.runs) if (run.turnId !== undefined) byTurn.set(run.turnId, run);
        const shown = new Set<RunRecord>();
        const exchanges: Exchange[] = this.history.map((turn) => {
            const run = byTurn.get(turn.turnId);
            if (run === undefined) return { kind: "turn", turn };
            shown.add(run);
            return { kind: "run", run };
        });
        for (const run of this.runs) if (!shown.has(run)) exchanges.push({ kind: "run", run });
        return exchanges;
    }

    has(run: RunRecord): boolean {
        return this.runs.includes(run);
    }

    /// The run that has a turn going, which a follow-up steers instead of queueing behind.
    busyRun(): RunRecord | undefined {
        return this.runs.find((run) => run.active);
    }

    /// The last exchange's question, for Retry on a conversation read from Codex.
    turn(turnId: string): ConversationTurn | undefined {
        return this.history.find((turn) => turn.turnId === turnId);
    }

    get isEmpty(): boolean {
        return this.history.length === 0 && this.runs.length === 0;
    }
}

/// The argument of a follow-up typed in the conversation view: `codex.run` with the prompt, the
/// document (attached as the current buffer; to a server that takes no `threadId`, it is what
/// names the conversation) and the conversation's thread when the server takes one.
export function followUpArgs(
    prompt: string,
    threadId: string | undefined,
    textDocument: TextDocumentRef,
    serverTakesThreadId: boolean,
): RunArgs {
    const args: RunArgs = { textDocument, prompt };
    if (serverTakesThreadId && threadId !== undefined) args.threadId = threadId;
    return args;
}

/// What Enter in the follow-up input does: a new turn, or input for the turn that is running
/// (`codex.steer`), since a second run on a busy conversation is refused.
export type FollowUpAction = { kind: "run" } | { kind: "steer"; runId: number } | { kind: "wait"; reason: string };

export function followUpAction(busy: RunRecord | undefined, serverSteers: boolean): FollowUpAction {
    if (busy === undefined) return { kind: "run" };
    if (busy.runId === undefined) return { kind: "wait", reason: "the running turn has not started yet" };
    if (!serverSteers) return { kind: "wait", reason: "this codex-ls cannot steer a running turn: wait for it, or cancel it" };
    return { kind: "steer", runId: busy.runId };
}
