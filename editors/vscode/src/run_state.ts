// The client's model of one run: what the user asked, where, and the answer as it streams.
// Pure (no VS Code), so delta accumulation is unit-tested on its own.

import {
    ACTION,
    type CodexProgress,
    EXPLAIN,
    type EditReport,
    type EndExt,
    FIX,
    REVIEW,
    REWRITE,
    RUN,
    type ReportExt,
    type ErrorExt,
    TESTS,
    type Usage,
} from "./lsp_ext";
import { Steps } from "./steps";

/// Where a run started from, for the panel's headings and the link to a failure's diagnostic.
export interface RunOrigin {
    uri: string;
    /// A short name for the document, e.g. "src/lib.rs".
    label: string;
    /// Zero-based, inclusive lines of the selection; absent for a whole-file run.
    lines?: { start: number; end: number };
    /// The selected text (its first lines), shown with the question it was about.
    excerpt?: string;
}

/// What the user decided about a proposed edit (README "Edit runs"), once they did.
export type ProposalOutcome = "applied" | "discarded";

/// `starting` until the server answers the command, `running` until the `end` report, then the
/// run's final status. `cancelled` is an interruption the user asked for.
export type RunPhase = "starting" | "running" | "completed" | "failed" | "interrupted" | "timeout" | "cancelled";

/// The streamed answer: the concatenation of the report deltas since the last reset.
export class AnswerText {
    private current = "";
    private lastSeq = 0;

    /// Whether a report with this `seq` has not been applied yet (not a duplicate).
    isNew(seq: number): boolean {
        return seq > this.lastSeq;
    }
    /// True when a report was missing (a gap in `seq`), so the text may be incomplete until `end`.
    gap = false;

    get text(): string {
        return this.current;
    }

    /// Applies one report. A report whose `seq` is not newer than the last one is a duplicate and
    /// changes nothing. Returns whether the text changed.
    apply(report: Pick<ReportExt, "delta" | "seq" | "reset">): boolean {
        if (report.seq <= this.lastSeq) return false;
        if (report.seq !== this.lastSeq + 1 && !report.reset) this.gap = true;
        this.lastSeq = report.seq;
        if (report.reset) {
            // A retry or a later agent message: the answer starts over.
            this.current = report.delta;
            this.gap = false;
            return true;
        }
        if (report.delta.length === 0) return false;
        this.current += report.delta;
        return true;
    }

    /// The whole answer from the `end` report replaces whatever was streamed.
    finish(assistantText: string | undefined): void {
        if (assistantText === undefined) return;
        this.current = assistantText;
        this.gap = false;
    }
}

export interface RunInit {
    /// The client's own id for the run, stable before the server has answered.
    id: number;
    title: string;
    /// What the user asked, shown as the entry's heading.
    prompt: string;
    origin: RunOrigin;
    /// The progress token the run streams on.
    token: string;
    /// An edit run (rewrite, fix, tests into the buffer): its answer is the edit, not prose.
    edits?: boolean;
    /// A review run: its answer is the findings (JSON), not prose.
    review?: boolean;
}

export class RunRecord {
    phase: RunPhase = "starting";
    runId: number | undefined;
    readonly answer = new AnswerText();
    readonly steps = new Steps();
    /// What the agent does now, in words (the last report's `message`), while the run goes.
    currentStep: string | undefined;
    usage: Usage | undefined;
    error: ErrorExt | undefined;
    edit: EditReport | undefined;
    findings: number | undefined;
    /// The `begin` report's message, e.g. "lines 10-24".
    scopeMessage: string | undefined;
    endedAt: number | undefined;
    /// The Codex thread and turn, from the reports: they tie the run to its conversation's turn.
    threadId: string | undefined;
    turnId: string | undefined;
    /// What the user added to the running turn (`codex.steer`), in order.
    readonly steers: string[] = [];
    proposalOutcome: ProposalOutcome | undefined;
    private cancelRequested = false;

    readonly id: number;
    readonly title: string;
    readonly prompt: string;
    readonly origin: RunOrigin;
    readonly token: string;
    readonly edits: boolean;
    readonly review: boolean;

    constructor(init: RunInit) {
        this.id = init.id;
        this.title = init.title;
        this.prompt = init.prompt;
        this.origin = init.origin;
        this.token = init.token;
        this.edits = init.edits ?? false;
        this.review = init.review ?? false;
    }

    get active(): boolean {
        return this.phase === "starting" || this.phase === "running";
    }

    get text(): string {
        return this.answer.text;
    }

    started(runId: number): void {
        this.runId = runId;
        if (this.phase === "starting") this.phase = "running";
    }

    /// An edit that waits for the user's Accept or Reject.
    get pendingProposal(): boolean {
        return this.edit?.status === "proposed" && this.proposalOutcome === undefined;
    }

    requestCancel(): void {
        this.cancelRequested = true;
    }

    /// Applies one `$/progress` payload of this run. Returns whether anything visible changed.
    apply(progress: CodexProgress, now: number = Date.now()): boolean {
        if (!this.active) return false;
        switch (progress.kind) {
            case "begin":
                this.runId = progress.codex.runId;
                this.phase = "running";
                this.scopeMessage = progress.message;
                return true;
            case "report": {
                this.phase = "running";
                if (!this.answer.isNew(progress.codex.seq)) return false;
                if (progress.codex.threadId !== null) this.threadId = progress.codex.threadId;
                if (progress.codex.turnId !== null) this.turnId = progress.codex.turnId;
                const stepChanged = progress.message !== this.currentStep;
                this.currentStep = progress.message;
                const itemsChanged = this.steps.apply(progress.codex.items ?? []);
                const textChanged = this.answer.apply(progress.codex);
                return textChanged || itemsChanged || stepChanged;
            }
            case "end":
                this.end(progress.codex, now);
                return true;
        }
    }

    /// The run failed on the client's side: the server rejected the command, is not running, or
    /// stopped while the run was going. No more progress will come.
    fail(error: ErrorExt, now: number = Date.now()): void {
        if (!this.active) return;
        this.phase = "failed";
        this.error = error;
        this.endedAt = now;
    }

    private end(end: EndExt, now: number): void {
        this.answer.finish(end.assistantText);
        this.steps.finish(end.items);
        this.usage = end.usage;
        this.currentStep = undefined;
        this.error = end.error;
        this.edit = end.edit;
        this.findings = end.findings;
        this.endedAt = now;
        this.phase = end.status === "interrupted" && this.cancelRequested ? "cancelled" : end.status;
    }

    /// True when the server published a diagnostic for this failure (a failed run tied to a
    /// document; a cancel by the user publishes none).
    get hasDiagnostic(): boolean {
        return (this.phase === "failed" || this.phase === "timeout" || this.phase === "interrupted") &&
            this.error !== undefined && this.runId !== undefined;
    }
}

export function phaseLabel(record: RunRecord): string {
    switch (record.phase) {
        case "starting":
            return "Starting…";
        case "running":
            if (record.currentStep) return record.currentStep;
            if (record.text.length === 0) return "Thinking…";
            if (record.review) return "Writing the review…";
            return record.edits ? "Writing the edit…" : "Streaming…";
        case "completed":
            return "Done";
        case "failed":
            return record.error ? `Failed: ${record.error.code}` : "Failed";
        case "interrupted":
            return "Interrupted";
        case "timeout":
            return "Timed out";
        case "cancelled":
            return "Cancelled";
    }
}

/// "lines 3-5" (one-based) or "whole file", as the panel shows a run's scope.
export function describeLines(lines: RunOrigin["lines"]): string {
    if (lines === undefined) return "whole file";
    const start = lines.start + 1;
    const end = lines.end + 1;
    return start === end ? `line ${start}` : `lines ${start}-${end}`;
}

/// The selection's lines as a run sees them: a selection that ends at column 0 of a line does
/// not include that line (as VS Code's own line commands treat it).
export function selectedLines(
    start: { line: number; character: number },
    end: { line: number; character: number },
): { start: number; end: number } | undefined {
    if (start.line === end.line && start.character === end.character) return undefined;
    const last = end.character === 0 && end.line > start.line ? end.line - 1 : end.line;
    return { start: start.line, end: last };
}

/// How a run that the server's own code actions start (the lightbulb, the Quick Fix menu) is
/// shown: its title, whether it edits the document, and the prompt when it has one.
export function describeServerRun(
    command: string,
    argument: Record<string, unknown>,
    actionModes: ReadonlyMap<string, string>,
): { title: string; edits: boolean; review?: boolean; prompt?: string } {
    switch (command) {
        case RUN: {
            const prompt = typeof argument["prompt"] === "string" ? argument["prompt"] : undefined;
            return prompt === undefined ? { title: "Ask", edits: false } : { title: "Ask", edits: false, prompt };
        }
        case EXPLAIN:
            return { title: "Explain", edits: false };
        case REWRITE: {
            const preset = argument["preset"];
            return { title: typeof preset === "string" ? `Rewrite: ${preset}` : "Rewrite", edits: true };
        }
        case FIX:
            return { title: "Fix", edits: true };
        case TESTS:
            return argument["mode"] === "edit"
                ? { title: "Write tests into the file", edits: true }
                : { title: "Write tests", edits: false };
        case REVIEW:
            return { title: "Review", edits: false, review: true };
        case ACTION: {
            const title = typeof argument["title"] === "string" ? argument["title"] : "Action";
            const mode = actionModes.get(title);
            return mode === "review" ? { title, edits: false, review: true } : { title, edits: mode === "edit" };
        }
        default:
            return { title: command, edits: false };
    }
}

/// The status bar is narrow: a long step is cut, the tooltip has it whole.
const STEP_WIDTH = 48;

export function runsText(active: number, step: string | undefined): string {
    const count = `${active} ${active === 1 ? "run" : "runs"}`;
    if (!step) return `$(sync~spin) Codex: ${count}`;
    const line = step.split("\n")[0] ?? "";
    const short = line.length > STEP_WIDTH ? `${line.slice(0, STEP_WIDTH - 1)}…` : line;
    // `$(` would start an icon: the step is the agent's text.
    const text = short.replace(/\$\(/g, "$\u200b(");
    return active === 1 ? `$(sync~spin) Codex: ${text}` : `$(sync~spin) Codex (${count}): ${text}`;
}

/// The panel shows at most this many lines of the selection above a question.
const EXCERPT_LINES = 6;

/// The selected text as shown with the question: its first lines, "…" when there are more.
export function selectionExcerpt(text: string): string | undefined {
    const lines = text.replace(/\n$/, "").split("\n");
    if (lines.every((line) => line.trim() === "")) return undefined;
    const shown = lines.slice(0, EXCERPT_LINES).join("\n");
    return lines.length > EXCERPT_LINES ? `${shown}\n…` : shown;
}
