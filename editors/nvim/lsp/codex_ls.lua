-- codex-ls: the Codex coding agent as a language server.
--
-- A `vim.lsp.Config` in nvim-lspconfig's `lsp/*.lua` format. With this
-- plugin's folder on 'runtimepath', Neovim 0.11 users enable it with
--
--   vim.lsp.enable('codex_ls')
--
-- and change any field with `vim.lsp.config('codex_ls', { ... })`. It attaches
-- to every buffer that holds a file (no `filetypes`). `settings.codex` is the
-- server's configuration, one to one (see `:help codex_ls-settings`); the
-- server pulls it with `workspace/configuration`.
--
-- Neovim 0.10 has no `vim.lsp.enable`: call `require('codex_ls').setup()`,
-- which starts the same configuration with `vim.lsp.start`.

--- Code actions name the server's run commands; the client runs them itself
--- (with a progressToken of its own) so they stream like `:CodexExplain`.
local code_action_commands = {}
local run_commands =
  { 'codex.run', 'codex.explain', 'codex.rewrite', 'codex.fix', 'codex.tests', 'codex.review', 'codex.action' }
for _, name in ipairs(run_commands) do
  code_action_commands[name] = function(command, ctx)
    require('codex_ls.commands').exec_command(command, ctx)
  end
end

---@type vim.lsp.Config
return {
  cmd = { 'codex-ls' },
  root_markers = { '.git', '.hg', '.jj', '.svn' },
  settings = {
    codex = vim.empty_dict(),
  },
  -- Approvals come as the typed `codex/requestApproval` request (README
  -- "Approvals"), so the plugin never has to recognize one by its prose.
  capabilities = {
    experimental = { codex = { approvals = true } },
  },
  commands = code_action_commands,
  -- The same settings go along with `initialize`, so that a run started
  -- right after the client attaches does not race the first
  -- `workspace/configuration` pull.
  before_init = function(params, config)
    local settings = config.settings and config.settings.codex
    if type(settings) == 'table' then
      params.initializationOptions = settings
    end
  end,
  handlers = {
    -- Approvals, with the diffs of file changes, answered in a confirm
    -- window that typeahead cannot answer.
    ['codex/requestApproval'] = function(...)
      return require('codex_ls.approvals').request_approval(...)
    end,
    -- A codex-ls without typed approvals asks with `showMessageRequest`:
    -- the same confirm window answers, whatever the question.
    ['window/showMessageRequest'] = function(...)
      return require('codex_ls.approvals').show_message_request(...)
    end,
    -- Configuration errors arrive as `window/showMessage`; remember them for
    -- `:checkhealth codex_ls`, then show them as usual.
    ['window/showMessage'] = function(...)
      return require('codex_ls.health').show_message(...)
    end,
  },
}
