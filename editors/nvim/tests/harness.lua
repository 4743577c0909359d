--- A small test runner for specs in headless Neovim.
---
--- The tests run one after another in a coroutine. Waiting (`H.wait`) yields
--- to Neovim's event loop, so LSP messages, timers and typed keys (which
--- `vim.wait()` would not process) are handled while a test waits on its
--- condition. Every wait has a timeout. At the end the runner prints
--- `N passed, N failed`, stops the language servers and exits non-zero when
--- a test failed.
local H = {}

local tests = {} ---@type { name: string, fn: fun() }[]

--- Writes a line to stdout at once (the Rust test shows it on failure). It
--- starts on a line of its own: headless Neovim writes its messages to
--- stdout too, without line breaks.
function H.log(...)
  local parts = {}
  for i = 1, select('#', ...) do
    local part = select(i, ...)
    parts[#parts + 1] = type(part) == 'string' and part or vim.inspect(part)
  end
  io.stdout:write('\n' .. table.concat(parts, ' ') .. '\n')
  io.stdout:flush()
end

--- A required environment variable.
function H.env(name)
  local value = os.getenv(name)
  assert(value and value ~= '', 'environment variable ' .. name .. ' is not set')
  return value
end

--- The data the Rust test passed for this spec (mocked answers and such).
function H.data()
  return vim.json.decode(H.env('CODEX_LS_SPEC_DATA'))
end

--- Milliseconds on a monotonic clock.
function H.now_ms()
  return vim.uv.hrtime() / 1e6
end

--- Waits until `predicate()` returns a truthy value and returns it, letting
--- the event loop run in between. Fails the test after `timeout_ms`.
---@param what string what is awaited, for the failure message
---@param predicate fun(): any
---@param timeout_ms? integer default 30000
function H.wait(what, predicate, timeout_ms)
  timeout_ms = timeout_ms or 30000
  local co = coroutine.running()
  assert(co, 'H.wait runs inside a test')
  local deadline = H.now_ms() + timeout_ms
  while true do
    local ok, value = pcall(predicate)
    if ok and value then
      return value
    end
    if H.now_ms() >= deadline then
      error(
        ('timed out after %d ms waiting for %s%s'):format(timeout_ms, what, ok and '' or (': ' .. tostring(value))),
        2
      )
    end
    -- Poll again on the next tick of the event loop.
    vim.defer_fn(function()
      local resumed, err = coroutine.resume(co)
      if not resumed then
        H.log('runner error: ' .. tostring(err))
      end
    end, 5)
    coroutine.yield()
  end
end

--- Types keys as a user would: they go to the typeahead and are handled by
--- Neovim's main loop once the test yields (so call `H.wait` after).
---@param keys string with `<CR>`-style notation
function H.type(keys)
  vim.api.nvim_feedkeys(vim.keycode(keys), 'mt', false)
end

--- Asserts equality with a readable failure.
function H.eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(('%s: expected %s, got %s'):format(what or 'values differ', vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

function H.truthy(value, what)
  if not value then
    error((what or 'expected a true value') .. ', got ' .. vim.inspect(value), 2)
  end
  return value
end

---@param name string
---@param fn fun()
function H.test(name, fn)
  tests[#tests + 1] = { name = name, fn = fn }
end

--- Opens a workspace file and waits until codex-ls is attached and its
--- commands exist. Returns the buffer.
---@param relative string
---@return integer
function H.open(relative)
  local path = vim.fs.joinpath(H.env('CODEX_LS_SPEC_WORKSPACE'), relative)
  vim.cmd.edit(vim.fn.fnameescape(path))
  local bufnr = vim.api.nvim_get_current_buf()
  H.wait('codex-ls to attach to ' .. relative, function()
    local client = require('codex_ls').client(bufnr)
    return client and client.initialized and vim.fn.exists(':CodexExplain') == 2
  end)
  return bufnr
end

--- The buffer's text.
function H.text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n')
end

--- The record of a conversation window for one of its runs: { win, buf,
--- token, text, answer, first, title, config }, where `text` is the whole
--- buffer, `answer` the answer of that run's exchange (found by the
--- window's own map of its lines, so an answer that looks like a step or a
--- question is still the answer), and `first` the line the answer starts on.
---@param window codex_ls.AnswerWindow
---@param token string
local function record(window, token)
  local win = window.win
  local config = vim.api.nvim_win_get_config(win)
  local title = ''
  if type(config.title) == 'table' then
    for _, chunk in ipairs(config.title) do
      title = title .. chunk[1]
    end
  elseif type(config.title) == 'string' then
    title = config.title
  else
    title = vim.wo[win].winbar
  end
  local span = window.spans[token] or {}
  return {
    win = win,
    buf = window.buf,
    token = token,
    text = H.text(window.buf),
    answer = window:answer_text(token),
    first = span.first,
    title = title,
    config = config,
    window = window,
  }
end

--- The conversation windows that are open, each for its newest run.
function H.answer_windows()
  local found = {}
  for _, window in pairs(require('codex_ls.answer').conversations) do
    if window:is_open() then
      found[#found + 1] = record(window, window.token or '')
    end
  end
  return found
end

--- Selects lines `first` to `last` in Visual line mode with typed keys and
--- waits until Neovim shows that selection.
---@param first integer
---@param last integer
function H.select_lines(first, last)
  H.type(('%dGV%dG'):format(first, last))
  H.wait(('Visual line mode on lines %d-%d'):format(first, last), function()
    return vim.fn.mode() == 'V' and vim.fn.line('v') == first and vim.fn.line('.') == last
  end)
end

--- Types `:{command}<CR>`, on the Visual selection of `lines` when given,
--- and waits for the new answer window the run opens.
---@param command string e.g. `CodexExplain` or `%CodexAsk Why?`
---@param lines? integer[] the first and the last line
function H.start_answer(command, lines)
  local before = {}
  for _, window in ipairs(H.answer_windows()) do
    before[window.token] = true
  end
  if lines then
    H.select_lines(lines[1], lines[2])
  end
  H.type(':' .. command .. '<CR>')
  return H.wait('a new answer window', function()
    for _, window in ipairs(H.answer_windows()) do
      if not before[window.token] then
        return window
      end
    end
  end)
end

--- The conversation window of `token`'s run, re-read, when it is open.
function H.answer_window(token)
  local window = require('codex_ls.answer').windows[token]
  if window and window:is_open() then
    return record(window, token)
  end
end

--- Waits until the run of `token` ended and returns it, with its window
--- re-read; fails at once, with the run's error, when it did not end as
--- `status`.
---@param token string
---@param status string e.g. `completed`
---@param timeout_ms? integer
function H.wait_run_end(token, status, timeout_ms)
  local run = H.wait('the run to end', function()
    local run = require('codex_ls.commands').runs[token]
    return run and run.ended_at and run
  end, timeout_ms)
  if run.status ~= status then
    error(('the run ended %s, not %s: %s'):format(run.status, status, vim.inspect(run.error)), 2)
  end
  return H.answer_window(token)
end

--- Waits for a diagnostic of `bufnr` that `match` accepts and returns it.
---@param what string
---@param bufnr integer
---@param match fun(diagnostic: vim.Diagnostic): boolean
function H.wait_diagnostic(what, bufnr, match)
  return H.wait(what, function()
    for _, diagnostic in ipairs(vim.diagnostic.get(bufnr)) do
      if match(diagnostic) then
        return diagnostic
      end
    end
  end)
end

--- Records the data of every `CodexLsRunEnd` event, in order.
---@return table[]
function H.record_run_ends()
  local ended = {}
  vim.api.nvim_create_autocmd('User', {
    pattern = 'CodexLsRunEnd',
    callback = function(args)
      table.insert(ended, args.data)
    end,
  })
  return ended
end

--- Records every `$/progress` of the codex-ls client, by token.
---@return table<string, { kind: string, value: table, status: string }[]>
function H.record_progress()
  local seen = {}
  vim.api.nvim_create_autocmd('LspProgress', {
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if not client or client.name ~= 'codex_ls' then
        return
      end
      local params = args.data.params
      local list = seen[params.token] or {}
      seen[params.token] = list
      -- What statusline plugins would show at this moment.
      list[#list + 1] = { kind = params.value.kind, value = params.value, status = vim.lsp.status() }
    end,
  })
  return seen
end

--- Stops the language servers (codex-ls then reaps the app-server) and
--- waits, at most 5 s, until they are gone.
local function stop_clients()
  local ids = vim.tbl_map(function(client)
    return client.id
  end, vim.lsp.get_clients())
  vim.lsp.stop_client(ids)
  vim.wait(5000, function()
    for _, id in ipairs(ids) do
      if vim.lsp.get_client_by_id(id) then
        return false
      end
    end
    return true
  end, 20)
end

--- How the runner ends Neovim when every test passed: nil stops the
--- language servers first; a spec about quitting sets the command a user
--- types (e.g. `qall!`), and Neovim quits with the servers still running.
---@type string?
H.quit_command = nil

local function finish(passed, failed)
  H.log(('%d passed, %d failed'):format(passed, failed))
  if H.quit_command and failed == 0 then
    vim.cmd(H.quit_command)
    return
  end
  stop_clients()
  if failed > 0 then
    vim.cmd('cquit 1')
  else
    vim.cmd('qall!')
  end
end

--- Runs the registered tests and exits Neovim.
function H.run()
  local co = coroutine.create(function()
    local passed, failed = 0, 0
    for _, test in ipairs(tests) do
      local started = H.now_ms()
      local ok, err = xpcall(test.fn, debug.traceback)
      local elapsed = ('%.0f ms'):format(H.now_ms() - started)
      if ok then
        passed = passed + 1
        H.log(('ok   %s (%s)'):format(test.name, elapsed))
      else
        failed = failed + 1
        H.log(('FAIL %s (%s)\n%s'):format(test.name, elapsed, err))
      end
    end
    finish(passed, failed)
  end)
  local ok, err = coroutine.resume(co)
  if not ok then
    H.log('runner error: ' .. tostring(err))
    finish(0, 1)
  end
end

return H
