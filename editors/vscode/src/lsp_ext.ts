// codex-ls's custom protocol, mirrored by name from the server's `src/lsp/ext.rs` and the
// "Protocol" section of the project README: command names, their argument objects and
// answers, and the `codex` objects inside `$/progress` payloads.
//
// Only types and pure parsing live here, so the unit tests load this file without VS Code.

import type * as lc from "vscode-languageclient";

export const RUN = "codex.run";
export const EXPLAIN = "codex.explain";
export const REWRITE = "codex.rewrite";
export const FIX = "codex.fix";
export const TESTS = "codex.tests";
export const REVIEW = "codex.review";
export const CLEAR_REVIEW = "codex.clearReview";
export const ACTION = "codex.action";
export const NEW_THREAD = "codex.newThread";
export const CANCEL = "codex.cancel";
export const STATUS = "codex.status";
/// Conversations (README "Conversations"): read, list, bind, steer, fork and undo.
export const CONVERSATION = "codex.conversation";
export const CONVERSATIONS = "codex.conversations";
export const OPEN_CONVERSATION = "codex.openConversation";
export const STEER = "codex.steer";
export const FORK = "codex.fork";
export const UNDO_LAST = "codex.undoLast";
/// Edit proposals (README "Edit runs"): an edit run with `preview` ends with the edit proposed.
export const APPLY_PROPOSAL = "codex.applyProposal";
export const DISCARD_PROPOSAL = "codex.discardProposal";
/// The actions of `unauthorized` and `backend-unavailable` failure diagnostics.
export const SIGN_IN_HELP = "codex.signInHelp";
export const OPEN_SETTINGS = "codex.openSettings";

/// The commands that start a run and answer `RunStarted`.
export const RUN_COMMANDS: readonly string[] = [RUN, EXPLAIN, REWRITE, FIX, TESTS, REVIEW, ACTION];

export function isRunCommand(command: string): command is RunCommand {
    return RUN_COMMANDS.includes(command);
}

export type RunCommand =
    | typeof RUN
    | typeof EXPLAIN
    | typeof REWRITE
    | typeof FIX
    | typeof TESTS
    | typeof REVIEW
    | typeof ACTION;

export interface TextDocumentRef {
    uri: string;
    /// When given, the run fails with `document-changed` if the server's version differs.
    version?: number;
}

export type Scope = "document" | "workspace";

export interface RunArgs {
    textDocument: TextDocumentRef;
    range?: lc.Range;
    prompt: string;
    /// Continues this conversation (a follow-up typed in the conversation view); the document
    /// is still attached, and its conversation is bound to the thread.
    threadId?: string;
    /// Waits behind a turn already running on the conversation instead of failing at once.
    queue?: boolean;
    newThread?: boolean;
    model?: string;
    effort?: string;
    scope?: Scope;
    progressToken?: string;
}

export interface ExplainArgs {
    textDocument: TextDocumentRef;
    range?: lc.Range;
    newThread?: boolean;
    scope?: Scope;
    progressToken?: string;
    /// Wait behind a run going on the conversation instead of being refused.
    queue?: boolean;
}

export type RewritePreset = "improve" | "simplify" | "document";

export interface RewriteArgs {
    textDocument: TextDocumentRef;
    range: lc.Range;
    preset?: RewritePreset;
    instruction?: string;
    preview?: boolean;
    scope?: Scope;
    progressToken?: string;
    /// Wait behind a run going on the conversation instead of being refused.
    queue?: boolean;
}

export interface FixArgs {
    textDocument: TextDocumentRef;
    range: lc.Range;
    diagnostics?: lc.Diagnostic[];
    preview?: boolean;
    scope?: Scope;
    progressToken?: string;
    /// Wait behind a run going on the conversation instead of being refused.
    queue?: boolean;
}

export type TestsMode = "answer" | "edit";

export interface TestsArgs {
    textDocument: TextDocumentRef;
    range: lc.Range;
    mode?: TestsMode;
    preview?: boolean;
    scope?: Scope;
    progressToken?: string;
    /// Wait behind a run going on the conversation instead of being refused.
    queue?: boolean;
}

export interface ReviewArgs {
    textDocument: TextDocumentRef;
    range?: lc.Range;
    scope?: Scope;
    progressToken?: string;
    /// Wait behind a run going on the conversation instead of being refused.
    queue?: boolean;
}

export interface ClearReviewArgs {
    textDocument: { uri: string };
}

export interface ActionArgs {
    textDocument: TextDocumentRef;
    range?: lc.Range;
    title: string;
    instruction?: string;
    diagnostics?: lc.Diagnostic[];
    preview?: boolean;
    scope?: Scope;
    progressToken?: string;
    /// Wait behind a run going on the conversation instead of being refused.
    queue?: boolean;
}

export interface NewThreadArgs {
    textDocument?: { uri: string };
    scope?: Scope;
}

/// Exactly one of the fields.
export interface CancelArgs {
    runId?: number;
    token?: string;
    textDocument?: { uri: string };
}

/// Answer of every run command, sent at once.
export interface RunStarted {
    runId: number;
    token: string | number;
}

export interface Cancelled {
    cancelled: number[];
}

export interface ReviewCleared {
    cleared: number;
}

export interface ThreadReset {
    threadReset: true;
}

/// `notStarted`, `starting`, `ready`, `exited` or `unavailable`.
export type BackendState = "notStarted" | "starting" | "ready" | "exited" | "unavailable";

export interface BackendStatus {
    state: BackendState;
    codexVersion: string | null;
    codexPath: string;
    pid: number | null;
    lastError: string | null;
}

export interface ActiveRun {
    runId: number;
    title: string;
    uri: string;
}

export interface ThreadStatus {
    threadId: string;
    scope: Scope;
    uri?: string;
    /// The workspace folder of a workspace-scoped thread.
    folder?: string;
    turns: number;
}

/// Answer of `codex.status`.
export interface Status {
    serverVersion: string;
    backend: BackendStatus;
    activeRuns: ActiveRun[];
    threads?: ThreadStatus[];
}

/// `completed`, `failed`, `interrupted` or `timeout`.
export type EndStatus = "completed" | "failed" | "interrupted" | "timeout";

export interface ErrorExt {
    code: string;
    message: string;
}

export const EDIT_STATUSES = ["applied", "rejected", "notApplied", "proposed"] as const;
export type EditStatus = (typeof EDIT_STATUSES)[number];

/// One line hunk of a proposal: the selected text's lines `oldText` become `newText`.
export interface ProposalHunk {
    index: number;
    /// Where `oldText` is in the document.
    range: lc.Range;
    oldText: string;
    newText: string;
}

/// What became of an edit run's replacement.
export interface EditReport {
    /// `proposed`: nothing is applied yet; `codex.applyProposal` or `codex.discardProposal` decide.
    status: EditStatus;
    replacement: string;
    explanation: string;
    /// Where the replacement went (or would have gone); for a proposal, where the selection is now.
    range?: lc.Range;
    reason?: string;
    /// A proposal's document version.
    version?: number;
    /// A proposal's hunks.
    hunks?: ProposalHunk[];
}

export interface BeginExt {
    runId: number;
}

export interface ReportExt {
    runId: number;
    threadId: string | null;
    turnId: string | null;
    delta: string;
    seq: number;
    reset?: boolean;
    /// The steps that changed since the previous report, in the order they first appeared.
    items?: ItemUpdate[];
}

export interface EndExt {
    runId: number;
    status: EndStatus;
    assistantText?: string;
    error?: ErrorExt;
    answerFile?: string;
    edit?: EditReport;
    findings?: number;
    /// The final state of every step of the turn.
    items?: Item[];
    usage?: Usage;
}

/// README "Streaming": the kinds of step a turn is made of.
export const ITEM_TYPES = ["reasoning", "plan", "command", "fileChange", "webSearch", "toolCall", "retry", "notice"] as const;
export type ItemType = (typeof ITEM_TYPES)[number];
export const ITEM_STATUSES = ["inProgress", "completed", "failed", "declined"] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];
export const FILE_CHANGE_KINDS = ["add", "delete", "update"] as const;
export type FileChangeKind = (typeof FILE_CHANGE_KINDS)[number];
export const PLAN_STEP_STATUSES = ["pending", "inProgress", "completed"] as const;
export type PlanStepStatus = (typeof PLAN_STEP_STATUSES)[number];

/// One file of a file change, with its unified diff.
export interface FileChange {
    path: string;
    kind: FileChangeKind;
    diff: string;
}

export interface PlanStep {
    step: string;
    status: PlanStepStatus;
}

/// The fields a step has in a report and in the end alike.
export interface ItemFields {
    /// The app-server's item id; "plan" for the turn's plan; "retry-<n>"; "notice-<n>".
    id: string;
    type: ItemType;
    status: ItemStatus;
    /// One line for display, e.g. "Ran `cargo test` (exit 0)".
    title: string;
    /// In a report: appends to the text so far. In the end: the whole text.
    text?: string;
    command?: string;
    cwd?: string;
    exitCode?: number;
    changes?: FileChange[];
    plan?: PlanStep[];
}

/// A step's change in a report: scalar fields replace, `text` and `outputDelta` append.
export interface ItemUpdate extends ItemFields {
    outputDelta?: string;
    /// How many bytes of output were dropped before `outputDelta` (it is bounded per report).
    outputSkipped?: number;
}

/// A step's final state in the `end` value.
export interface Item extends ItemFields {
    /// The last 64 KiB of a command's output.
    output?: string;
}

/// The tokens of the turn.
export interface Usage {
    inputTokens: number;
    cachedInputTokens: number;
    outputTokens: number;
    reasoningOutputTokens: number;
    totalTokens: number;
}

/// The server → client request of typed approvals, sent to clients that declare
/// `capabilities.experimental.codex.approvals: true` (README "Approvals").
export const REQUEST_APPROVAL = "codex/requestApproval";
export const APPROVAL_KINDS = ["command", "fileChange", "permissions"] as const;
export type ApprovalKind = (typeof APPROVAL_KINDS)[number];
export const APPROVAL_DECISIONS = ["accept", "acceptForSession", "decline"] as const;
export type ApprovalDecision = (typeof APPROVAL_DECISIONS)[number];

export interface ApprovalRequest {
    runId: number;
    kind: ApprovalKind;
    /// One line, e.g. "Codex wants to run a command".
    title: string;
    command?: string;
    cwd?: string;
    reason?: string;
    changes?: FileChange[];
    /// A summary of the permissions asked.
    permissions?: string;
    decisions: ApprovalDecision[];
}

export interface ApprovalResult {
    decision: ApprovalDecision;
}

/// `{ textDocument }` or `{ scope: "workspace" }` (with a document, for its folder), or a thread.
export interface ConversationArgs {
    textDocument?: { uri: string };
    scope?: Scope;
    threadId?: string;
}

export const TURN_STATUSES = ["completed", "failed", "interrupted", "inProgress"] as const;
export type TurnStatus = (typeof TURN_STATUSES)[number];

/// One exchange of a conversation as Codex keeps it.
export interface ConversationTurn {
    turnId: string;
    prompt: string;
    title: string;
    status: TurnStatus;
    answer: string;
    items: Item[];
    /// Unix seconds.
    startedAt: number | null;
}

/// Answer of `codex.conversation` (`null` when nothing is bound yet).
export interface Conversation {
    threadId: string;
    title: string;
    turns: ConversationTurn[];
}

export interface ConversationsArgs {
    folder?: string;
}

export interface ConversationSummary {
    threadId: string;
    title: string;
    /// Unix seconds.
    updatedAt: number | null;
    turns: number;
}

/// Answer of `codex.conversations`, newest first.
export interface ConversationList {
    conversations: ConversationSummary[];
}

export interface OpenConversationArgs {
    threadId: string;
    textDocument?: { uri: string };
    scope?: Scope;
}

export interface SteerArgs {
    runId: number;
    prompt: string;
}

export interface ForkArgs {
    threadId: string;
    /// Forks after this turn; the whole conversation without it.
    turnId?: string;
}

export interface UndoLastArgs {
    threadId: string;
}

/// Answer of `codex.openConversation`; `codex.fork`'s and `codex.undoLast`'s begin the same way.
export interface ThreadRef {
    threadId: string;
}

/// Answer of `codex.steer`.
export interface Steered {
    runId: number;
    turnId: string;
}

/// Answer of `codex.fork`: the new thread.
export interface Forked extends ThreadRef {
    forkedFromId: string;
}

/// Answer of `codex.undoLast`: the turn dropped.
export interface Undone extends ThreadRef {
    turnId: string;
}

/// The `data` of the error that refuses a run on a busy conversation (`InvalidRequest`).
export interface BusyData {
    busy: true;
    /// The runs going on the document's conversation.
    runIds: number[];
}

export interface ApplyProposalArgs {
    runId: number;
    /// Only these hunks (their `index`); all when absent.
    hunks?: number[];
}

export interface ProposalApplied {
    applied: boolean;
    /// The hunks applied (or that were to be).
    hunks: number[];
    /// Where the edit went, in the document as it is now.
    range?: lc.Range;
    reason?: string;
}

export interface DiscardProposalArgs {
    runId: number;
}

export interface ProposalDiscarded {
    discarded: boolean;
}

export type CodexProgress =
    | { kind: "begin"; title: string; message?: string; codex: BeginExt }
    | { kind: "report"; message?: string; codex: ReportExt }
    | { kind: "end"; message?: string; codex: EndExt };

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
    return typeof value === "string" ? value : undefined;
}

function nullableString(value: unknown): string | null {
    return typeof value === "string" ? value : null;
}

function isPosition(value: unknown): value is lc.Position {
    return isObject(value) && isCount(value["line"]) && isCount(value["character"]);
}

export function isRange(value: unknown): value is lc.Range {
    return isObject(value) && isPosition(value["start"]) && isPosition(value["end"]);
}

function isCount(value: unknown): value is number {
    return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

function isInteger(value: unknown): value is number {
    return typeof value === "number" && Number.isInteger(value);
}

function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
    return typeof value === "string" && (values as readonly string[]).includes(value);
}

/// Copies the string fields of `source` that are present into `target`.
function copyStrings<T extends object>(target: T, source: Json, keys: ReadonlyArray<keyof T & string>): void {
    for (const key of keys) {
        const value = optionalString(source[key]);
        if (value !== undefined) (target as Record<string, unknown>)[key] = value;
    }
}

function parseChanges(value: unknown): FileChange[] | undefined {
    if (!Array.isArray(value)) return undefined;
    const changes: FileChange[] = [];
    for (const change of value) {
        if (!isObject(change) || typeof change["path"] !== "string" || !isOneOf(FILE_CHANGE_KINDS, change["kind"])) continue;
        changes.push({ path: change["path"], kind: change["kind"], diff: optionalString(change["diff"]) ?? "" });
    }
    return changes;
}

function parsePlan(value: unknown): PlanStep[] | undefined {
    if (!Array.isArray(value)) return undefined;
    const plan: PlanStep[] = [];
    for (const step of value) {
        if (!isObject(step) || typeof step["step"] !== "string" || !isOneOf(PLAN_STEP_STATUSES, step["status"])) continue;
        plan.push({ step: step["step"], status: step["status"] });
    }
    return plan;
}

/// The fields common to a report's and the end's steps; `undefined` for a value that is not a
/// step (no id, an unknown type or status), which is skipped rather than failing the report.
function parseItemFields(value: unknown): ItemFields | undefined {
    if (!isObject(value) || typeof value["id"] !== "string") return undefined;
    if (!isOneOf(ITEM_TYPES, value["type"]) || !isOneOf(ITEM_STATUSES, value["status"])) return undefined;
    const item: ItemFields = {
        id: value["id"],
        type: value["type"],
        status: value["status"],
        title: optionalString(value["title"]) ?? "",
    };
    copyStrings(item, value, ["text", "command", "cwd"]);
    if (isInteger(value["exitCode"])) item.exitCode = value["exitCode"];
    const changes = parseChanges(value["changes"]);
    if (changes !== undefined) item.changes = changes;
    const plan = parsePlan(value["plan"]);
    if (plan !== undefined) item.plan = plan;
    return item;
}

export function parseItemUpdates(value: unknown): ItemUpdate[] | undefined {
    if (!Array.isArray(value)) return undefined;
    return value.flatMap((raw): ItemUpdate[] => {
        const item: ItemUpdate | undefined = parseItemFields(raw);
        if (item === undefined || !isObject(raw)) return [];
        copyStrings(item, raw, ["outputDelta"]);
        if (isCount(raw["outputSkipped"])) item.outputSkipped = raw["outputSkipped"];
        return [item];
    });
}

export function parseItems(value: unknown): Item[] | undefined {
    if (!Array.isArray(value)) return undefined;
    return value.flatMap((raw): Item[] => {
        const item: Item | undefined = parseItemFields(raw);
        if (item === undefined || !isObject(raw)) return [];
        copyStrings(item, raw, ["output"]);
        return [item];
    });
}

const USAGE_FIELDS = ["inputTokens", "cachedInputTokens", "outputTokens", "reasoningOutputTokens", "totalTokens"] as const;

export function parseUsage(value: unknown): Usage | undefined {
    if (!isObject(value)) return undefined;
    const usage: Usage = { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, reasoningOutputTokens: 0, totalTokens: 0 };
    for (const field of USAGE_FIELDS) {
        const count = value[field];
        if (!isCount(count)) return undefined;
        usage[field] = count;
    }
    return usage;
}

/// Reads the params of `codex/requestApproval`. `undefined` when they are not an approval this
/// client understands, which it declines (fail closed).
export function parseApprovalRequest(value: unknown): ApprovalRequest | undefined {
    if (!isObject(value) || !isCount(value["runId"]) || !isOneOf(APPROVAL_KINDS, value["kind"])) return undefined;
    const decisions = Array.isArray(value["decisions"])
        ? value["decisions"].filter((decision): decision is ApprovalDecision => isOneOf(APPROVAL_DECISIONS, decision))
        : [];
    const request: ApprovalRequest = {
        runId: value["runId"],
        kind: value["kind"],
        title: optionalString(value["title"]) ?? "Codex asks for approval",
        decisions,
    };
    copyStrings(request, value, ["command", "cwd", "reason", "permissions"]);
    const changes = parseChanges(value["changes"]);
    if (changes !== undefined) request.changes = changes;
    return request;
}

const END_STATUSES: readonly string[] = ["completed", "failed", "interrupted", "timeout"];

function parseError(value: unknown): ErrorExt | undefined {
    if (!isObject(value) || typeof value["code"] !== "string") return undefined;
    return { code: value["code"], message: optionalString(value["message"]) ?? "" };
}

function parseEdit(value: unknown): EditReport | undefined {
    if (!isObject(value) || !isOneOf(EDIT_STATUSES, value["status"])) return undefined;
    const edit: EditReport = {
        status: value["status"],
        replacement: optionalString(value["replacement"]) ?? "",
        explanation: optionalString(value["explanation"]) ?? "",
    };
    if (isRange(value["range"])) edit.range = value["range"];
    copyStrings(edit, value, ["reason"]);
    if (isInteger(value["version"])) edit.version = value["version"];
    const hunks = parseHunks(value["hunks"]);
    if (hunks !== undefined) edit.hunks = hunks;
    return edit;
}

/// A proposal's hunks; one that lacks its index or range is skipped (it could not be applied
/// by index, nor shown where it is).
function parseHunks(value: unknown): ProposalHunk[] | undefined {
    if (!Array.isArray(value)) return undefined;
    return value.flatMap((raw): ProposalHunk[] => {
        if (!isObject(raw) || !isCount(raw["index"]) || !isRange(raw["range"])) return [];
        return [{
            index: raw["index"],
            range: raw["range"],
            oldText: optionalString(raw["oldText"]) ?? "",
            newText: optionalString(raw["newText"]) ?? "",
        }];
    });
}

function parseTurn(value: unknown): ConversationTurn | undefined {
    if (!isObject(value) || typeof value["turnId"] !== "string") return undefined;
    return {
        turnId: value["turnId"],
        prompt: optionalString(value["prompt"]) ?? "",
        title: optionalString(value["title"]) ?? "",
        // A status this client does not know yet is shown as finished, not as still running.
        status: isOneOf(TURN_STATUSES, value["status"]) ? value["status"] : "completed",
        answer: optionalString(value["answer"]) ?? "",
        items: parseItems(value["items"]) ?? [],
        startedAt: isCount(value["startedAt"]) ? value["startedAt"] : null,
    };
}

/// Reads the answer of `codex.conversation`: `null` when no conversation is bound (or the
/// answer is not one), so the caller shows an empty conversation.
export function parseConversation(value: unknown): Conversation | null {
    if (!isObject(value) || typeof value["threadId"] !== "string") return null;
    const turns = Array.isArray(value["turns"]) ? value["turns"] : [];
    return {
        threadId: value["threadId"],
        title: optionalString(value["title"]) ?? "",
        turns: turns.flatMap((raw) => parseTurn(raw) ?? []),
    };
}

/// Reads the answer of `codex.conversations`, skipping entries without a thread id.
export function parseConversationList(value: unknown): ConversationList {
    const list = isObject(value) && Array.isArray(value["conversations"]) ? value["conversations"] : [];
    return {
        conversations: list.flatMap((raw): ConversationSummary[] => {
            if (!isObject(raw) || typeof raw["threadId"] !== "string") return [];
            return [{
                threadId: raw["threadId"],
                title: optionalString(raw["title"]) ?? "",
                updatedAt: isCount(raw["updatedAt"]) ? raw["updatedAt"] : null,
                turns: isCount(raw["turns"]) ? raw["turns"] : 0,
            }];
        }),
    };
}

/// Reads the `threadId` of the answer of `codex.openConversation`, `codex.fork` (the new thread)
/// and `codex.undoLast`.
export function parseThreadRef(value: unknown): ThreadRef | undefined {
    return isObject(value) && typeof value["threadId"] === "string" ? { threadId: value["threadId"] } : undefined;
}

export function parseProposalApplied(value: unknown): ProposalApplied | undefined {
    if (!isObject(value) || typeof value["applied"] !== "boolean") return undefined;
    const hunks = Array.isArray(value["hunks"]) ? value["hunks"].filter(isCount) : [];
    const applied: ProposalApplied = { applied: value["applied"], hunks };
    if (isRange(value["range"])) applied.range = value["range"];
    copyStrings(applied, value, ["reason"]);
    return applied;
}

export function parseProposalDiscarded(value: unknown): ProposalDiscarded | undefined {
    if (!isObject(value) || typeof value["discarded"] !== "boolean") return undefined;
    return { discarded: value["discarded"] };
}

/// The conversation commands this server advertises (`executeCommandProvider.commands`), so the
/// client offers only what the server can do: a codex-ls from before conversations knows none.
export interface ServerFeatures {
    /// `codex.conversation`, `codex.conversations`, `codex.openConversation`, and `threadId` on runs.
    conversations: boolean;
    steer: boolean;
    fork: boolean;
    undo: boolean;
    proposals: boolean;
}

export function serverFeatures(commands: readonly string[] | undefined): ServerFeatures {
    const has = (command: string): boolean => commands?.includes(command) ?? false;
    return {
        conversations: has(CONVERSATION) && has(CONVERSATIONS) && has(OPEN_CONVERSATION),
        steer: has(STEER),
        fork: has(FORK),
        undo: has(UNDO_LAST),
        proposals: has(APPLY_PROPOSAL) && has(DISCARD_PROPOSAL),
    };
}

/// `{ [key]: value }` when there is a value, else nothing to spread.
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
    return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

/// Reads one `$/progress` value of a codex-ls run. Anything that is not one of our payloads
/// (another server's progress, a malformed object) gives `undefined`, so a caller can ignore it.
export function parseProgress(value: unknown): CodexProgress | undefined {
    if (!isObject(value) || !isObject(value["codex"])) return undefined;
    const codex = value["codex"];
    if (!isCount(codex["runId"])) return undefined;
    const runId = codex["runId"];
    const message = optionalString(value["message"]);
    switch (value["kind"]) {
        case "begin":
            return { kind: "begin", title: optionalString(value["title"]) ?? "Codex", message, codex: { runId } };
        case "report": {
            if (typeof codex["delta"] !== "string" || !isCount(codex["seq"])) return undefined;
            return {
                kind: "report",
                message,
                codex: {
                    runId,
                    threadId: nullableString(codex["threadId"]),
                    turnId: nullableString(codex["turnId"]),
                    delta: codex["delta"],
                    seq: codex["seq"],
                    reset: codex["reset"] === true,
                    ...optional("items", parseItemUpdates(codex["items"])),
                },
            };
        }
        case "end": {
            const status = codex["status"];
            if (typeof status !== "string" || !END_STATUSES.includes(status)) return undefined;
            const end: EndExt = { runId, status: status as EndStatus };
            const assistantText = optionalString(codex["assistantText"]);
            if (assistantText !== undefined) end.assistantText = assistantText;
            const error = parseError(codex["error"]);
            if (error !== undefined) end.error = error;
            const answerFile = optionalString(codex["answerFile"]);
            if (answerFile !== undefined) end.answerFile = answerFile;
            const edit = parseEdit(codex["edit"]);
            if (edit !== undefined) end.edit = edit;
            if (isCount(codex["findings"])) end.findings = codex["findings"];
            const items = parseItems(codex["items"]);
            if (items !== undefined) end.items = items;
            const usage = parseUsage(codex["usage"]);
            if (usage !== undefined) end.usage = usage;
            return { kind: "end", message, codex: end };
        }
        default:
            return undefined;
    }
}

/// Reads the answer of a run command.
export function parseRunStarted(value: unknown): RunStarted | undefined {
    if (!isObject(value) || !isCount(value["runId"])) return undefined;
    const token = value["token"];
    if (typeof token !== "string" && typeof token !== "number") return undefined;
    return { runId: value["runId"], token };
}

const BACKEND_STATES: readonly string[] = ["notStarted", "starting", "ready", "exited", "unavailable"];

/// Reads the answer of `codex.status`.
export function parseStatus(value: unknown): Status | undefined {
    if (!isObject(value) || !isObject(value["backend"])) return undefined;
    const backend = value["backend"];
    const state = backend["state"];
    if (typeof state !== "string" || !BACKEND_STATES.includes(state)) return undefined;
    const activeRuns: ActiveRun[] = [];
    for (const run of Array.isArray(value["activeRuns"]) ? value["activeRuns"] : []) {
        if (isObject(run) && isCount(run["runId"])) {
            activeRuns.push({
                runId: run["runId"],
                title: optionalString(run["title"]) ?? "",
                uri: optionalString(run["uri"]) ?? "",
            });
        }
    }
    const status: Status = {
        serverVersion: optionalString(value["serverVersion"]) ?? "",
        backend: {
            state: state as BackendState,
            codexVersion: nullableString(backend["codexVersion"]),
            codexPath: optionalString(backend["codexPath"]) ?? "",
            pid: isCount(backend["pid"]) ? backend["pid"] : null,
            lastError: nullableString(backend["lastError"]),
        },
        activeRuns,
    };
    if (Array.isArray(value["threads"])) {
        status.threads = [];
        for (const thread of value["threads"]) {
            if (!isObject(thread) || typeof thread["threadId"] !== "string") continue;
            const entry: ThreadStatus = {
                threadId: thread["threadId"],
                scope: thread["scope"] === "workspace" ? "workspace" : "document",
                turns: isCount(thread["turns"]) ? thread["turns"] : 0,
            };
            const uri = optionalString(thread["uri"]);
            if (uri !== undefined) entry.uri = uri;
            const folder = optionalString(thread["folder"]);
            if (folder !== undefined) entry.folder = folder;
            status.threads.push(entry);
        }
    }
    return status;
}

/// Reads the refusal of a run on a busy conversation from the command's error (a JSON-RPC
/// error whose `data` is `{ busy: true, runIds }`, README "How a run works"), so the client can
/// offer to steer or cancel those runs; `undefined` for any other error.
export function parseBusyRefusal(error: unknown): BusyData | undefined {
    if (!isObject(error) || !isObject(error["data"]) || error["data"]["busy"] !== true) return undefined;
    const runIds = error["data"]["runIds"];
    return { busy: true, runIds: Array.isArray(runIds) ? runIds.filter(isCount) : [] };
}
