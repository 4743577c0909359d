// How the hunks of a proposed edit are offered one by one. VS Code's diff editor has no API for
// a button per hunk (its own "revert block" is internal, and CodeLens is off in diff editors by
// default, `diffEditor.codeLens`), so **Accept Hunks…** lists them in a multi-select QuickPick:
// one row per hunk naming its lines and its first changed line. Pure.

import type { ProposalHunk } from "./lsp_ext";
import { describeLines, selectedLines } from "./run_state";

export interface HunkPick {
    label: string;
    description: string;
    detail: string;
    index: number;
}

/// The first non-blank line of a text, cut to fit a QuickPick row.
function firstLine(text: string): string {
    const line = text.split("\n").find((candidate) => candidate.trim() !== "")?.trim() ?? "";
    return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

function lineCount(text: string): number {
    if (text === "") return 0;
    return text.replace(/\n$/, "").split("\n").length;
}

export function hunkPick(hunk: ProposalHunk): HunkPick {
    // An insertion (an empty range) is named by the line it goes before.
    const start = hunk.range.start.line;
    const lines = describeLines(selectedLines(hunk.range.start, hunk.range.end) ?? { start, end: start });
    const removed = lineCount(hunk.oldText);
    const added = lineCount(hunk.newText);
    const detail = [hunk.oldText && `- ${firstLine(hunk.oldText)}`, hunk.newText && `+ ${firstLine(hunk.newText)}`]
        .filter((part) => part)
        .join("   ");
    return { label: `Hunk ${hunk.index + 1}: ${lines}`, description: `-${removed} +${added}`, detail, index: hunk.index };
}

/// The indexes to send as `hunks`: `undefined` (all of them, no `hunks` field) when every hunk
/// was picked, so a full accept is the same request whichever way it was made.
export function pickedHunks(all: readonly ProposalHunk[], picked: readonly number[]): number[] | undefined {
    const indexes = [...new Set(picked)].sort((a, b) => a - b);
    return indexes.length === all.length ? undefined : indexes;
}
