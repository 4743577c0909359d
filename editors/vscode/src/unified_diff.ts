// The two sides of a file change, for VS Code's diff editor. The server gives an updated file as
// a unified diff and an added or deleted file as its content (README "Steps"). The file on disk
// may already be the new version (the agent changed it) or still the old one (an approval asks
// first), so both sides are built from the change alone: for an update, the hunks' context and
// removed lines on the left, context and added lines on the right; an added file is all right
// side, a deleted one all left. Pure.

import type { FileChange } from "./lsp_ext";

export interface DiffSides {
    before: string;
    after: string;
}

/// Stands between two hunks on both sides, where the diff skips unchanged lines.
export const HUNK_GAP = "⋯";

export function diffSides(change: Pick<FileChange, "kind" | "diff">): DiffSides {
    // The content as it is, even when a line of it looks like a hunk header.
    if (change.kind === "add") return { before: "", after: change.diff };
    if (change.kind === "delete") return { before: change.diff, after: "" };
    const lines = change.diff.split("\n");
    const before: string[] = [];
    const after: string[] = [];
    let inHunk = false;
    for (const line of lines) {
        if (line.startsWith("@@")) {
            if (inHunk) {
                before.push(HUNK_GAP);
                after.push(HUNK_GAP);
            }
            inHunk = true;
            continue;
        }
        if (!inHunk) continue; // "diff --git", "---", "+++" and other headers
        if (line.startsWith("+")) after.push(line.slice(1));
        else if (line.startsWith("-")) before.push(line.slice(1));
        else if (line.startsWith(" ")) {
            before.push(line.slice(1));
            after.push(line.slice(1));
        }
        // "\ No newline at end of file" and the empty string after the last line say nothing.
    }
    return { before: joinLines(before), after: joinLines(after) };
}

function joinLines(lines: string[]): string {
    return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
