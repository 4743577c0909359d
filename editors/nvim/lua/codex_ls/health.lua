--- `:checkhealth codex_ls`: the codex-ls binary and its version, the Codex
--- CLI and its version (through `codex.status`), the attached clients, and
--- configuration errors (unknown keys here, and the values the server
--- rejected, which it reports with `window/showMessage`).
local M = {}

local health = vim.health

--- Configuration errors the server reported, newest last (at most 20).
---@type string[]
M.config_errors = {}

--- The `window/showMessage` handler of the codex-ls client: remembers
--- configuration errors, then shows the message as Neovim does.
---@param err lsp.ResponseError?
---@param params lsp.ShowMessageParams
---@param ctx lsp.HandlerContext
function M.show_message(err, params, ctx)
  if params and type(params.message) == 'string' and params.message:find('^codex%-ls configuration:') then
    table.insert(M.config_errors, params.message)
    while #M.config_errors > 20 do
      table.remove(M.config_errors, 1)
    end
  end
  return vim.lsp.handlers['window/showMessage'](err, params, ctx)
end

--- Runs `argv` and returns its first output line, or nil and why not.
---@param argv string[]
---@return string?, string?
local function first_line(argv)
  local ok, process = pcall(vim.system, argv, { text = true })
  if not ok then
    return nil, tostring(process)
  end
  local result = process:wait(5000)
  if result.code ~= 0 then
    return nil, ('exited with %s: %s'):format(result.code, vim.trim(result.stderr or ''))
  end
  return vim.split(vim.trim(result.stdout or ''), '\n')[1]
end

local function check_neovim()
  health.start('Neovim')
  local version = vim.version()
  local text = ('%d.%d.%d'):format(version.major, version.minor, version.patch)
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok('Neovim ' .. text .. ': enable with vim.lsp.enable("codex_ls")')
  elseif vim.fn.has('nvim-0.10') == 1 then
    health.ok('Neovim ' .. text .. ': start with require("codex_ls").setup()')
  else
    health.error('Neovim ' .. text .. ' is too old', 'codex_ls needs Neovim 0.10 or later')
  end
end

---@return vim.lsp.Config?
local function config()
  local ok, resolved = pcall(require('codex_ls').lsp_config)
  if not ok then
    health.error(tostring(resolved), 'add the codex_ls plugin folder to runtimepath')
    return nil
  end
  return resolved
end

---@param cmd any
local function check_binary(cmd)
  health.start('codex-ls binary')
  if type(cmd) ~= 'table' or type(cmd[1]) ~= 'string' then
    health.info('cmd is a function; cannot check the binary')
    return
  end
  local path = vim.fn.exepath(cmd[1])
  if path == '' then
    health.error(('`%s` is not executable or not on PATH'):format(cmd[1]), {
      'install it: cargo install --path . (in the codex-ls repository)',
      "or set cmd: vim.lsp.config('codex_ls', { cmd = { '/path/to/codex-ls' } })",
    })
    return
  end
  local version, err = first_line({ path, '--version' })
  if version then
    health.ok(('%s (%s)'):format(version, path))
  else
    health.error(('%s --version failed: %s'):format(path, err))
  end
end

---@param client vim.lsp.Client
---@return table?, string?
local function server_status(client)
  local params = { command = 'codex.status', arguments = {} }
  local answer, err = require('codex_ls').call(client, 'request_sync', 'workspace/executeCommand', params, 5000)
  if not answer then
    return nil, err or 'no answer'
  end
  if answer.err then
    return nil, answer.err.message
  end
  return answer.result
end

local function value(v)
  return v ~= nil and v ~= vim.NIL and v or nil
end

---@param clients vim.lsp.Client[]
---@param settings table
local function check_codex(clients, settings)
  health.start('Codex CLI (through codex.status)')
  local client = clients[1]
  if not client then
    health.warn('no codex-ls client is running, so the server cannot be asked', 'open a file to start codex-ls')
    return
  end
  local status, err = server_status(client)
  if not status then
    health.error('codex.status failed: ' .. tostring(err))
    return
  end
  local backend = status.backend or {}
  local path = value(backend.codexPath) or settings.codexPath or 'codex'
  if value(backend.codexVersion) then
    health.ok(('Codex CLI %s (%s), app-server %s'):format(backend.codexVersion, path, backend.state))
  elseif backend.state == 'notStarted' then
    -- codex-ls starts the app-server on the first run; ask the CLI itself.
    local version, version_err = first_line({ path, '--version' })
    if version then
      health.ok(('%s (%s); the app-server starts with the first run'):format(version, path))
    else
      health.error(
        ('Codex CLI `%s` not usable: %s'):format(path, version_err),
        { 'npm install -g @openai/codex, then codex login', 'or set settings.codex.codexPath' }
      )
    end
  else
    health.error(
      ('app-server %s: %s'):format(tostring(backend.state), tostring(value(backend.lastError) or 'no version')),
      { 'check codexPath', 'run `codex-ls ask --file FILE "hello"` to see the error' }
    )
  end
  health.info('codex-ls ' .. tostring(status.serverVersion))
  local runs = status.activeRuns or {}
  if #runs > 0 then
    health.info(('%d run(s) in flight'):format(#runs))
  end
end

---@param clients vim.lsp.Client[]
local function check_clients(clients)
  health.start('Client')
  if #clients == 0 then
    local enabled = vim.lsp.is_enabled and vim.lsp.is_enabled('codex_ls')
    health.warn(
      'no codex-ls client is running',
      enabled and { 'open a file: codex_ls is enabled and starts with it' }
        or { 'vim.lsp.enable("codex_ls") (Neovim 0.11) or require("codex_ls").setup()' }
    )
    return
  end
  for _, client in ipairs(clients) do
    local buffers = {}
    for bufnr in pairs(client.attached_buffers or {}) do
      table.insert(buffers, vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':~:.'))
    end
    table.sort(buffers)
    health.ok(
      ('client %d attached to %d buffer(s)%s; root %s; position encoding %s'):format(
        client.id,
        #buffers,
        #buffers > 0 and (' (' .. table.concat(buffers, ', ') .. ')') or '',
        client.root_dir or '-',
        client.offset_encoding
      )
    )
  end
end

---@param settings table
local function check_configuration(settings)
  health.start('Configuration (settings.codex)')
  local known = {}
  for _, key in ipairs(require('codex_ls').setting_keys) do
    known[key] = true
  end
  local problems = 0
  for key in pairs(settings) do
    if not known[key] then
      problems = problems + 1
      health.warn(('unknown key `%s`'):format(key), 'see :help codex_ls-settings')
    end
  end
  for _, message in ipairs(M.config_errors) do
    problems = problems + 1
    health.error(message)
  end
  if problems == 0 then
    health.ok('no configuration errors')
  end
end

function M.check()
  check_neovim()
  local resolved = config()
  if not resolved then
    return
  end
  local clients = vim.lsp.get_clients({ name = 'codex_ls' })
  local client_settings = clients[1] and clients[1].settings or resolved.settings or {}
  local settings = type(client_settings.codex) == 'table' and client_settings.codex or {}
  check_binary(clients[1] and clients[1].config.cmd or resolved.cmd)
  check_clients(clients)
  check_codex(clients, settings)
  check_configuration(settings)
end

return M
