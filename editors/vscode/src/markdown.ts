// Renders an answer's markdown to the HTML the answer panel shows. Raw HTML in the answer is
// escaped (the model's text is never trusted as markup), every code block gets "Copy" and
// "Insert at cursor" buttons that refer to the block by its index, and code in a known language
// is highlighted (highlight.js, bundled; its classes take the theme's colors in answers.css).
//
// The HTML comes as a list of top-level blocks (paragraphs, lists, code blocks...), so the panel
// can replace only the blocks that changed while an answer streams and leave the rest, with
// their buttons, in place.

import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import csharp from "highlight.js/lib/languages/csharp";
import css from "highlight.js/lib/languages/css";
import diff from "highlight.js/lib/languages/diff";
import go from "highlight.js/lib/languages/go";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import kotlin from "highlight.js/lib/languages/kotlin";
import lua from "highlight.js/lib/languages/lua";
import python from "highlight.js/lib/languages/python";
import ruby from "highlight.js/lib/languages/ruby";
import rust from "highlight.js/lib/languages/rust";
import shell from "highlight.js/lib/languages/shell";
import sql from "highlight.js/lib/languages/sql";
import swift from "highlight.js/lib/languages/swift";
import toml from "highlight.js/lib/languages/ini";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";
import MarkdownIt from "markdown-it";

export interface RenderedAnswer {
    /// The whole HTML (the blocks joined).
    html: string;
    /// The top-level blocks' HTML, in order.
    blocks: string[];
    /// The code blocks' text, in order; the buttons carry the index into this list.
    codeBlocks: string[];
}

interface RenderEnv {
    codeBlocks: string[];
}

// The languages answers about code use most; a fence in another language stays plain text
// rather than pulling every grammar (hundreds) into the bundle.
const LANGUAGES = {
    bash, c, cpp, csharp, css, diff, go, java, javascript, json, kotlin, lua, python, ruby, rust,
    shell, sql, swift, toml, typescript, xml, yaml,
};
for (const [name, language] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, language);
hljs.registerAliases(["sh", "zsh", "console"], { languageName: "bash" });
hljs.registerAliases(["rs"], { languageName: "rust" });
hljs.registerAliases(["py"], { languageName: "python" });
hljs.registerAliases(["js", "jsx", "mjs", "cjs"], { languageName: "javascript" });
hljs.registerAliases(["ts", "tsx"], { languageName: "typescript" });
hljs.registerAliases(["html", "svg"], { languageName: "xml" });
hljs.registerAliases(["h", "hpp", "cc", "c++"], { languageName: "cpp" });
hljs.registerAliases(["cs"], { languageName: "csharp" });
hljs.registerAliases(["yml"], { languageName: "yaml" });

const markdown = new MarkdownIt({ html: false, linkify: true, breaks: false });
type Token = ReturnType<MarkdownIt["parse"]>[number];

/// The code's HTML: highlighted when its language is known (highlight.js escapes the text),
/// escaped otherwise.
export function highlightCode(content: string, language: string): string {
    if (language && hljs.getLanguage(language)) {
        return hljs.highlight(content, { language, ignoreIllegals: true }).value;
    }
    return markdown.utils.escapeHtml(content);
}

function codeBlock(env: RenderEnv, content: string, language: string): string {
    const index = env.codeBlocks.push(content) - 1;
    const languageClass = language ? ` class="hljs language-${markdown.utils.escapeHtml(language)}"` : "";
    return (
        `<div class="code-block" data-block="${index}">` +
        `<div class="code-actions">` +
        `<button class="code-action" data-action="copy" data-block="${index}" title="Copy to the clipboard">Copy</button>` +
        `<button class="code-action" data-action="insert" data-block="${index}" title="Insert at the cursor of the last active editor">Insert at cursor</button>` +
        `</div>` +
        `<pre><code${languageClass}>${highlightCode(content, language)}</code></pre>` +
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

/// Splits the token stream into its top-level blocks: from an opening token at level 0 to its
/// closing one, or a single token (a fence, a rule) that stands alone.
function topLevelBlocks(tokens: Token[]): Token[][] {
    const blocks: Token[][] = [];
    let current: Token[] = [];
    let depth = 0;
    for (const token of tokens) {
        current.push(token);
        depth += token.nesting;
        if (depth === 0) {
            blocks.push(current);
            current = [];
        }
    }
    if (current.length > 0) blocks.push(current);
    return blocks;
}

/// Renders `text` (complete or still streaming: an unclosed fence runs to the end).
export function renderAnswer(text: string): RenderedAnswer {
    const env: RenderEnv = { codeBlocks: [] };
    const tokens = markdown.parse(text, env);
    const blocks = topLevelBlocks(tokens).map((block) => markdown.renderer.render(block, markdown.options, env));
    return { html: blocks.join(""), blocks, codeBlocks: env.codeBlocks };
}
