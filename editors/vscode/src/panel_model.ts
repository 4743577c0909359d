// What the answer panel's webview shows for each run, and the messages between the webview and
// the extension. Pure: the extension builds entries here, the webview only draws them.

import type { Exchange } from "./conversation";
import type { ConversationTurn, FileChangeKind, ItemStatus, ItemType, PlanStepStatus } from "./lsp_ext";
import { renderAnswer } from "./markdown";
import { type RunRecord, describeLines, phaseLabel } from "./run_state";
import { type Step, Steps } from "./steps";

/// One step of a run as the panel draws it: a line that expands to its details.
export interface PanelStep {
    id: string;
    type: ItemType;
    status: ItemStatus;
    title: string;
    /// Reasoning summary, a retry's or a notice's details.
    text: string;
    /// "$ cargo test" and its directory.
    command?: string;
    cwd?: string;
    exitCode?: number;
    output: string;
    outputTruncated: boolean;
    changes?: { path: string; kind: FileChangeKind }[];
    plan?: { step: string; status: PlanStepStatus }[];
}

/// A review finding, listed under the review's entry; a click reveals its lines.
export interface PanelFinding {
    /// "line 3" or "lines 3-5".
    lines: string;
    severity: string;
    message: string;
    suggestion?: string;
}

export interface PanelEntry {
    /// A run's id ("3"), or "turn-<turnId>" for a turn read from Codex.
    id: string;
    title: string;
    prompt: string;
    /// "src/lib.rs, lines 3-5".
    scope: string;
    /// The selected text the question was about (its first lines).
    excerpt?: string;
    /// What the user added while the turn ran (Steer), in order.
    steers: string[];
    /// Whether Retry is offered (the exchange is over).
    retry: boolean;
    /// An edit waiting for Accept or Reject in the diff editor.
    proposal?: boolean;
    phase: RunRecord["phase"];
    statusLabel: string;
    active: boolean;
    /// The rendered answer's top-level blocks (raw HTML in the answer is escaped).
    blocks: string[];
    /// What the agent does now, while the run goes.
    currentStep?: string;
    steps: PanelStep[];
    /// A review's findings, once it is done.
    findingList?: PanelFinding[];
    /// "1,234 tokens", once the run is done.
    usage?: string;
    error?: { code: string; message: string };
    /// A link to the diagnostic the server published for the failure.
    hasDiagnostic: boolean;
    /// For edit runs: what became of the edit.
    edit?: { status: string; explanation: string; reason?: string };
    findings?: number;
}

/// The conversation above the entries: what it is about, and what its buttons may do.
export interface PanelConversation {
    /// The document's URI, which the page keeps so a reloaded window restores this conversation.
    uri: string;
    title: string;
    /// "src/lib.rs".
    label: string;
    /// A turn is running: the input steers it instead of starting another.
    busy: boolean;
    /// The input's button: "Send", "Steer", or why it waits.
    inputLabel: string;
    canFork: boolean;
    canUndo: boolean;
}

/// Extension → webview.
export type ToWebview =
    | { type: "conversation"; conversation: PanelConversation | undefined; entries: PanelEntry[] }
    | { type: "header"; conversation: PanelConversation | undefined }
    | { type: "entry"; entry: PanelEntry };

/// The conversation-wide buttons.
export const CONVERSATION_ACTIONS = ["fork", "undo", "newConversation", "pickConversation", "clear"] as const;
export type ConversationAction = (typeof CONVERSATION_ACTIONS)[number];
/// The buttons of one entry.
export const ENTRY_ACTIONS = ["cancel", "showDiagnostic", "retry", "acceptProposal", "rejectProposal", "openProposal"] as const;
export type EntryAction = (typeof ENTRY_ACTIONS)[number];

/// Webview → extension.
export type FromWebview =
    | { type: "ready" }
    | { type: ConversationAction }
    | { type: EntryAction; id: string }
    | { type: "send"; text: string }
    | { type: "copy"; id: string; block: number }
    | { type: "insert"; id: string; block: number }
    | { type: "openDiff"; id: string; step: string; change: number }
    | { type: "revealFinding"; id: string; finding: number };

export interface RenderedEntry {
    entry: PanelEntry;
    codeBlocks: string[];
}

const EDIT_LABELS: Record<string, string> = {
    applied: "Edit applied",
    rejected: "Edit rejected by the editor",
    notApplied: "Edit not applied",
    proposed: "Edit proposed: Accept or Reject it in the diff editor",
};

const OUTCOME_LABELS: Record<string, string> = { applied: "Proposed edit accepted", discarded: "Proposed edit rejected" };

export function panelEntry(record: RunRecord): RenderedEntry {
    const { blocks, codeBlocks } = renderAnswer(answerMarkdown(record));
    const entry: PanelEntry = {
        id: String(record.id),
        title: record.title,
        prompt: record.prompt,
        scope: `${record.origin.label}, ${record.scopeMessage ?? describeLines(record.origin.lines)}`,
        steers: [...record.steers],
        retry: !record.active,
        phase: record.phase,
        statusLabel: phaseLabel(record),
        active: record.active,
        blocks,
        steps: record.steps.list.map(panelStep),
        hasDiagnostic: record.hasDiagnostic,
    };
    if (record.origin.excerpt !== undefined) entry.excerpt = record.origin.excerpt;
    if (record.pendingProposal) entry.proposal = true;
    // A cancel the user asked for is an outcome, not an error: no error line (drawn in error red).
    if (record.error && record.phase !== "cancelled") {
        entry.error = { code: record.error.code, message: record.error.message };
    }
    if (record.edit) {
        const outcome = record.proposalOutcome && OUTCOME_LABELS[record.proposalOutcome];
        entry.edit = {
            status: outcome ?? EDIT_LABELS[record.edit.status] ?? record.edit.status,
            explanation: record.edit.explanation,
        };
        if (record.edit.reason !== undefined) entry.edit.reason = record.edit.reason;
    }
    if (record.findings !== undefined) entry.findings = record.findings;
    if (record.currentStep !== undefined && record.active) entry.currentStep = record.currentStep;
    const findings = record.review && !record.active ? reviewFindings(record.text) : undefined;
    if (findings !== undefined) entry.findingList = findings.map(panelFinding);
    if (record.usage !== undefined) entry.usage = `${record.usage.totalTokens.toLocaleString("en-US")} tokens`;
    return { entry, codeBlocks };
}

/// The id of a turn's entry; a run's entry has the run's id, which cannot start with "turn-".
export function turnEntryId(turnId: string): string {
    return `turn-${turnId}`;
}

const TURN_PHASES: Record<ConversationTurn["status"], RunRecord["phase"]> = {
    completed: "completed",
    failed: "failed",
    interrupted: "interrupted",
    inProgress: "running",
};

const TURN_LABELS: Record<ConversationTurn["status"], string> = {
    completed: "Done",
    failed: "Failed",
    interrupted: "Interrupted",
    inProgress: "Running elsewhere",
};

/// A turn read from Codex: its question, steps and answer, without the buttons of a live run
/// (it has none to cancel; Retry asks its question again).
export function turnEntry(turn: ConversationTurn, label: string): RenderedEntry {
    const { blocks, codeBlocks } = renderAnswer(turnAnswerMarkdown(turn.answer));
    const steps = new Steps();
    steps.finish(turn.items);
    const entry: PanelEntry = {
        id: turnEntryId(turn.turnId),
        // Codex's title of a turn is its prompt's first line, which the question shows already.
        title: "You asked",
        prompt: turn.prompt,
        scope: label,
        steers: [],
        retry: turn.status !== "inProgress" && turn.prompt !== "",
        phase: TURN_PHASES[turn.status],
        statusLabel: TURN_LABELS[turn.status],
        active: false,
        blocks,
        steps: steps.list.map(panelStep),
        hasDiagnostic: false,
    };
    return { entry, codeBlocks };
}

export function exchangeEntry(exchange: Exchange, label: string): RenderedEntry {
    return exchange.kind === "run" ? panelEntry(exchange.run) : turnEntry(exchange.turn, label);
}

function panelStep(step: Step): PanelStep {
    const shown: PanelStep = {
        id: step.id,
        type: step.type,
        status: step.status,
        title: step.title,
        text: step.text,
        output: step.output,
        outputTruncated: step.outputTruncated,
    };
    if (step.command !== undefined) shown.command = step.command;
    if (step.cwd !== undefined) shown.cwd = step.cwd;
    if (step.exitCode !== undefined) shown.exitCode = step.exitCode;
    // The diffs stay in the extension: "Open diff" asks for them by index.
    if (step.changes !== undefined) shown.changes = step.changes.map(({ path, kind }) => ({ path, kind }));
    if (step.plan !== undefined) shown.plan = step.plan;
    return shown;
}

/// A review's finding as the model wrote it (README "Reviews"), lines 1-based.
export interface ReviewFinding {
    startLine: number;
    endLine: number;
    severity: string;
    message: string;
    suggestion?: string;
}

/// The findings of a review's answer, or `undefined` when it is not the review's JSON (then the
/// entry shows the answer as it is).
export function reviewFindings(text: string): ReviewFinding[] | undefined {
    let answer: unknown;
    try {
        answer = JSON.parse(text);
    } catch {
        return undefined;
    }
    const list = (answer as { findings?: unknown } | null)?.findings;
    if (!Array.isArray(list)) return undefined;
    const findings: ReviewFinding[] = [];
    for (const raw of list) {
        const finding = raw as Record<string, unknown> | null;
        const startLine = finding?.["startLine"];
        const message = finding?.["message"];
        if (typeof startLine !== "number" || typeof message !== "string") continue;
        const endLine = typeof finding?.["endLine"] === "number" ? finding["endLine"] : startLine;
        const severity = typeof finding?.["severity"] === "string" ? finding["severity"] : "warning";
        const parsed: ReviewFinding = { startLine, endLine: Math.max(startLine, endLine), severity, message };
        if (typeof finding?.["suggestion"] === "string") parsed.suggestion = finding["suggestion"];
        findings.push(parsed);
    }
    return findings;
}

function panelFinding(finding: ReviewFinding): PanelFinding {
    const lines = describeLines({ start: finding.startLine - 1, end: finding.endLine - 1 });
    const shown: PanelFinding = { lines, severity: finding.severity, message: finding.message };
    if (finding.suggestion !== undefined) shown.suggestion = finding.suggestion;
    return shown;
}

/// The markdown an entry shows. An edit run streams the model's structured answer (JSON), which
/// is not for reading: the entry shows the explanation and the replacement once the edit is done,
/// and the raw answer only when no edit came out of it.
///
/// A review streams its findings as JSON too: once done, they are a list (see `reviewFindings`)
/// and the answer shows nothing else, unless the answer is not the review's JSON.
export function answerMarkdown(record: RunRecord): string {
    if (record.review) {
        if (record.active) return "";
        return reviewFindings(record.text) === undefined ? record.text : "";
    }
    if (!record.edits) return record.text;
    if (record.edit) return editMarkdown(record.edit);
    return record.active ? "" : record.text;
}

/// An edit's explanation, then its replacement in a fence longer than any backtick run in it.
function editMarkdown(edit: { replacement: string; explanation: string }): string {
    const fence = "`".repeat(Math.max(3, longestBacktickRun(edit.replacement) + 1));
    const explanation = edit.explanation.trim();
    const replacement = edit.replacement.endsWith("\n") ? edit.replacement : `${edit.replacement}\n`;
    return `${explanation}${explanation ? "\n\n" : ""}${fence}\n${replacement}${fence}\n`;
}

/// A turn's answer as read from Codex. An edit turn's answer is the structured JSON the run
/// asked for, shown as an edit run's entry shows it; anything else is the answer as it is.
export function turnAnswerMarkdown(answer: string): string {
    let parsed: unknown;
    try {
        parsed = JSON.parse(answer);
    } catch {
        return answer;
    }
    const edit = parsed as { replacement?: unknown; explanation?: unknown } | null;
    if (typeof edit?.replacement !== "string") return answer;
    return editMarkdown({ replacement: edit.replacement, explanation: typeof edit.explanation === "string" ? edit.explanation : "" });
}

function longestBacktickRun(text: string): number {
    let longest = 0;
    for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
    return longest;
}

function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
    return typeof value === "string" && (values as readonly string[]).includes(value);
}

/// Reads a message from the webview; anything else gives `undefined`.
export function parseWebviewMessage(value: unknown): FromWebview | undefined {
    if (typeof value !== "object" || value === null) return undefined;
    const message = value as Record<string, unknown>;
    const type = message["type"];
    const id = message["id"];
    const block = message["block"];
    const step = message["step"];
    const change = message["change"];
    const finding = message["finding"];
    const text = message["text"];
    if (type === "ready" || isOneOf(CONVERSATION_ACTIONS, type)) return { type };
    if (type === "send") return typeof text === "string" && text.trim() !== "" ? { type, text } : undefined;
    if (typeof id !== "string") return undefined;
    if (isOneOf(ENTRY_ACTIONS, type)) return { type, id };
    switch (type) {
        case "copy":
        case "insert":
            return typeof block === "number" ? { type, id, block } : undefined;
        case "openDiff":
            return typeof step === "string" && typeof change === "number" ? { type, id, step, change } : undefined;
        case "revealFinding":
            return typeof finding === "number" ? { type, id, finding } : undefined;
        default:
            return undefined;
    }
}
