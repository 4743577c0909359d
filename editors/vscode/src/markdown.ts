// Renders an answer's markdown to the HTML the answer panel shows. Raw HTML in the answer is
// escaped (the model's text is never trusted as markup), and every code block gets "Copy" and
// "Insert at cursor" buttons that refer to the block by its index.

import MarkdownIt from "markdown-it";

export interface RenderedAnswer {
    html: string;
    /// The code blocks' text, in order; the buttons carry the index into this list.
    codeBlocks: string[];
}

interface RenderEnv {
    codeBlocks: string[];
}

const markdown = new MarkdownIt({ html: false, linkify: true, breaks: false });

function codeBlock(env: RenderEnv, content: string, language: string): string {
    const index = env.codeBlocks.push(content) - 1;
    const languageClass = language ? ` class="language-${markdown.utils.escapeHtml(language)}"` : "";
    return (
        `<div class="code-block" data-block="${index}">` +
        `<div class="code-actions">` +
        `<button class="code-action" data-action="copy" data-block="${index}" title="Copy to the clipboard">Copy</button>` +
        `<button class="code-action" data-action="insert" data-block="${index}" title="Insert at the cursor of the last active editor">Insert at cursor</button>` +
        `</div>` +
        `<pre><code${languageClass}>${markdown.utils.escapeHtml(content)}</code></pre>` +
        `</div>\n`
    );
}

markdown.renderer.rules.fence = (tokens, index, _options, env: RenderEnv) => {
    const token = tokens[index];
    const language = token.info.trim().split(/\s+/)[0] ?? "";
    return codeBlock(env, token.content, language);
};

markdown.renderer.rules.code_block = (tokens, index, _options, env: RenderEnv) =>
    codeBlock(env, tokens[index].content, "");

/// Renders `text` (complete or still streaming: an unclosed fence runs to the end).
export function renderAnswer(text: string): RenderedAnswer {
    const env: RenderEnv = { codeBlocks: [] };
    const html = markdown.render(text, env);
    return { html, codeBlocks: env.codeBlocks };
}
