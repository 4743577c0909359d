--- codex-ls for Neovim: the plugin's options, its optional `setup()`, and the
--- small compatibility layer between Neovim 0.10 and 0.11.
---
--- The language server configuration itself lives in `lsp/codex_ls.lua`; on
--- Neovim 0.11 `vim.lsp.enable('codex_ls')` is all a user needs. `setup()`
--- takes the same configuration to Neovim 0.10 through `vim.lsp.start`.
local M = {}

--- The name of the client, as in `lsp/codex_ls.lua`.
M.name = 'codex_ls'

---@class codex_ls.AnswerOptions
---@field style 'float'|'split' where the answer is shown
---@field split 'right'|'left'|'above'|'below' where a split opens
---@field width number float width: columns, or a fraction of the editor when below 1
---@field height number the float's largest height: lines, or a fraction of the editor when below 1
---@field border string|string[] float border
---@field close_key string closes the answer window
---@field cancel_key string cancels the answer's run

---@class codex_ls.Options
---@field cmd? string[] the command that starts codex-ls
---@field settings? table the server's configuration (`settings.codex`)
---@field answer? codex_ls.AnswerOptions
---@field root_markers? string[]

---@type codex_ls.Options
local defaults = {
  answer = {
    style = 'float',
    split = 'right',
    width = 0.45,
    height = 0.6,
    border = 'rounded',
    close_key = 'q',
    cancel_key = '<C-c>',
  },
}

---@type codex_ls.Options
M.options = vim.deepcopy(defaults)

--- The settings keys the server knows (README "Configuration"); anything
--- else is reported by `:checkhealth codex_ls`.
M.setting_keys = {
  'codexPath',
  'model',
  'effort',
  'reasoningSummary',
  'sandbox',
  'approvalPolicy',
  'approvalTimeoutSecs',
  'allowPrivilegedEscalation',
  'timeoutSecs',
  'progressIntervalMs',
  'inlineSelectionLimit',
  'editPreview',
  'actions',
}

M.has_011 = vim.fn.has('nvim-0.11') == 1

--- The configuration in `lsp/codex_ls.lua` (found on 'runtimepath'), with
--- Neovim 0.11's `vim.lsp.config` overrides when there are any.
---@return vim.lsp.Config
function M.lsp_config()
  if M.has_011 and vim.lsp.config then
    local resolved = vim.lsp.config[M.name]
    if resolved then
      return vim.deepcopy(resolved)
    end
  end
  local file = vim.api.nvim_get_runtime_file('lsp/' .. M.name .. '.lua', false)[1]
  if not file then
    error('codex_ls: lsp/codex_ls.lua is not on runtimepath; add the plugin folder to it')
  end
  return dofile(file)
end

--- Optional. Merges `opts` into the plugin's options and starts codex-ls
--- for every file buffer: with `vim.lsp.config` and `vim.lsp.enable` on
--- Neovim 0.11, with `vim.lsp.start` on 0.10.
---@param opts? codex_ls.Options
function M.setup(opts)
  opts = opts or {}
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts)
  local overrides = {}
  if opts.cmd then
    overrides.cmd = opts.cmd
  end
  if opts.root_markers then
    overrides.root_markers = opts.root_markers
  end
  if opts.settings then
    overrides.settings = { codex = opts.settings }
  end
  if M.has_011 and vim.lsp.config and vim.lsp.enable then
    vim.lsp.config(M.name, overrides)
    vim.lsp.enable(M.name)
    return
  end
  M._config_010 = vim.tbl_deep_extend('force', M.lsp_config(), overrides)
  local group = vim.api.nvim_create_augroup('codex_ls.start', { clear = true })
  vim.api.nvim_create_autocmd({ 'BufReadPost', 'BufNewFile' }, {
    group = group,
    callback = function(args)
      M.start(args.buf)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      M.start(bufnr)
    end
  end
end

--- Neovim 0.10: starts (or reuses) the client for a file buffer.
---@param bufnr integer
function M.start(bufnr)
  if vim.bo[bufnr].buftype ~= '' or vim.api.nvim_buf_get_name(bufnr) == '' then
    return
  end
  local config = vim.deepcopy(M._config_010 or M.lsp_config())
  config.name = M.name
  local path = vim.api.nvim_buf_get_name(bufnr)
  config.root_dir = config.root_dir or vim.fs.root(path, config.root_markers or {}) or vim.fs.dirname(path)
  config.root_markers = nil
  vim.lsp.start(config, { bufnr = bufnr })
end

--- The codex-ls client attached to `bufnr` (default: the current buffer).
---@param bufnr? integer
---@return vim.lsp.Client?
function M.client(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  return vim.lsp.get_clients({ bufnr = bufnr, name = M.name })[1]
end

--- `client:name(...)` on 0.11, `client.name(...)` on 0.10, whose client
--- functions take no `self`.
---@param client vim.lsp.Client
---@param name 'request'|'request_sync'
function M.call(client, name, ...)
  if M.has_011 then
    return client[name](client, ...)
  end
  return client[name](...)
end

--- The commands the server advertises (`executeCommandProvider`).
---@param client vim.lsp.Client
---@return string[]
function M.commands(client)
  local provider = client.server_capabilities and client.server_capabilities.executeCommandProvider
  return type(provider) == 'table' and provider.commands or {}
end

--- Whether the server offers `command`: what tells a codex-ls with
--- conversations (`codex.conversation`) from an older one.
---@param client vim.lsp.Client
---@param command string
---@return boolean
function M.offers(client, command)
  return vim.list_contains(M.commands(client), command)
end

--- Runs one of the server's commands (`workspace/executeCommand`) with one
--- argument object. A command this codex-ls does not offer answers an error
--- at once that says to update codex-ls.
---@param client vim.lsp.Client
---@param command string e.g. `codex.explain`
---@param argument table?
---@param handler fun(err: lsp.ResponseError?, result: any)
---@param bufnr? integer
function M.exec(client, command, argument, handler, bufnr)
  if not M.offers(client, command) then
    local known = M.commands(client)
    handler({
      code = -32601,
      message = ('this codex-ls does not offer `%s` (it offers %s); update codex-ls'):format(
        command,
        table.concat(known, ', ')
      ),
    }, nil)
    return
  end
  local params = { command = command, arguments = argument and { argument } or {} }
  M.call(client, 'request', 'workspace/executeCommand', params, handler, bufnr)
end

return M
