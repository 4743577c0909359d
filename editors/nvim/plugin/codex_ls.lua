-- codex-ls for Neovim: wires the codex-ls client's events to the plugin.
-- Lazy: nothing under lua/codex_ls is loaded until codex-ls attaches to a
-- buffer. Starting the client is up to the user: `vim.lsp.enable('codex_ls')`
-- (Neovim 0.11) or `require('codex_ls').setup()` (0.10 and later).
if vim.g.loaded_codex_ls then
  return
end
vim.g.loaded_codex_ls = true

if vim.fn.has('nvim-0.10') ~= 1 then
  vim.notify_once('codex_ls needs Neovim 0.10 or later', vim.log.levels.WARN)
  return
end

local group = vim.api.nvim_create_augroup('codex_ls', { clear = true })

local function is_codex_ls(client_id)
  local client = client_id and vim.lsp.get_client_by_id(client_id)
  return client ~= nil and client.name == 'codex_ls'
end

vim.api.nvim_create_autocmd('LspAttach', {
  group = group,
  desc = 'codex-ls: buffer-local :Codex* commands',
  callback = function(args)
    if is_codex_ls(args.data and args.data.client_id) then
      require('codex_ls.commands').attach(args.buf)
    end
  end,
})

vim.api.nvim_create_autocmd('LspDetach', {
  group = group,
  desc = 'codex-ls: remove the :Codex* commands',
  callback = function(args)
    local client_id = args.data and args.data.client_id
    if not is_codex_ls(client_id) then
      return
    end
    local others = vim.tbl_filter(function(client)
      return client.id ~= client_id
    end, vim.lsp.get_clients({ bufnr = args.buf, name = 'codex_ls' }))
    local commands = require('codex_ls.commands')
    commands.client_detached(client_id, args.buf)
    if #others == 0 then
      commands.detach(args.buf)
    end
  end,
})

vim.api.nvim_create_autocmd('LspProgress', {
  group = group,
  desc = 'codex-ls: stream runs into their answer windows',
  callback = function(args)
    -- No runs exist before the commands module is loaded.
    local commands = package.loaded['codex_ls.commands']
    local data = args.data
    if not commands or not data or not is_codex_ls(data.client_id) then
      return
    end
    -- A drawing error must not stop every later report with a multi-line
    -- "Error detected while processing LspProgress Autocommands": say it
    -- once, in one line, and go on.
    local ok, err = pcall(commands.on_progress, data.client_id, data.params or data.result)
    if not ok then
      vim.notify_once(
        commands.one_line('codex-ls: could not show a progress report: ' .. tostring(err)),
        vim.log.levels.WARN
      )
    end
  end,
})
