-- :CodexExplain on lines selected in Visual mode with typed keys: the answer
-- window shows exactly the mocked answer, streamed through $/progress, and
-- `q` closes it.
local H = require('harness')
local data = H.data()
local progress = H.record_progress()

H.test('explain a Visual selection streams the answer into a window', function()
  local bufnr = H.open('src/lib.rs')
  local window = H.start_answer('CodexExplain', { 2, 3 })
  H.eq(bufnr, vim.api.nvim_get_current_buf(), 'the cursor stays in the source buffer')
  H.eq('markdown', vim.bo[window.buf].filetype, 'answer filetype')
  window = H.wait_run_end(window.token, 'completed')
  H.truthy(window.title:find('completed', 1, true), 'the title shows the outcome: ' .. window.title)
  H.eq(data.answer, window.answer, 'answer window text')
  H.truthy(window.title:find('Codex: Explain', 1, true), 'title names the run: ' .. window.title)
  local lines = #vim.split(data.answer, '\n')
  H.truthy(
    window.config.height >= lines,
    ('the float grew to the answer (%d >= %d)'):format(window.config.height, lines)
  )

  -- The progress this client saw for the run's token.
  local seen = H.truthy(progress[window.token], 'progress for the token')
  H.eq('begin', seen[1].kind, 'first progress')
  H.eq('lines 2-3', seen[1].value.message, 'the selection the server got')
  H.eq('end', seen[#seen].kind, 'last progress')
  H.eq('completed', seen[#seen].value.codex.status, 'end status')
  local streamed, reports = '', 0
  for _, item in ipairs(seen) do
    if item.kind == 'report' then
      reports = reports + 1
      if item.value.codex.reset then
        streamed = ''
      end
      streamed = streamed .. item.value.codex.delta
      H.truthy(item.status:find('Codex: Explain', 1, true), 'vim.lsp.status() shows the run: ' .. item.status)
    end
  end
  H.truthy(reports >= 2, ('several reports streamed (%d)'):format(reports))
  H.eq(data.answer, streamed, 'concatenated deltas')

  -- `q` in the answer window closes it.
  vim.api.nvim_set_current_win(window.win)
  H.type('q')
  H.wait('the answer window to close', function()
    return not vim.api.nvim_win_is_valid(window.win)
  end)
  H.eq(bufnr, vim.api.nvim_get_current_buf(), 'back in the source buffer')
end)

H.test('two runs at once each stream into their own window', function()
  local first_buf = H.open('src/lib.rs')
  local first = H.start_answer('%CodexAsk What is in this file?')
  H.open('src/util.rs')
  local second = H.start_answer('%CodexAsk And in this one?')
  H.truthy(first.token ~= second.token, 'two tokens')
  local done = { H.wait_run_end(first.token, 'completed'), H.wait_run_end(second.token, 'completed') }
  H.eq(data.answer, done[1].answer, 'first answer')
  H.eq(data.answer, done[2].answer, 'second answer')
  H.truthy(done[1].config.row ~= done[2].config.row, 'the floats do not cover each other')
  H.truthy(vim.api.nvim_buf_is_valid(first_buf), 'source buffer kept')
  for _, window in ipairs(done) do
    vim.api.nvim_win_close(window.win, true)
  end
end)

--- The text of `:checkhealth codex_ls`, its tab closed again.
local function checkhealth()
  vim.cmd('checkhealth codex_ls')
  local report = H.text(vim.api.nvim_get_current_buf())
  vim.cmd('tabclose')
  return report
end

H.test(':checkhealth codex_ls reports the binary, the Codex CLI, the client and configuration errors', function()
  local bufnr = H.open('src/lib.rs')
  local report = checkhealth()
  H.truthy(report:find('OK codex-ls ' .. data.server_version .. ' (', 1, true), 'binary and version:\n' .. report)
  H.truthy(report:find('OK Codex CLI ' .. data.codex_version, 1, true), 'Codex CLI version:\n' .. report)
  H.truthy(report:find('OK client %d+ attached to 2 buffer%(s%)'), 'client attached:\n' .. report)
  H.truthy(report:find('OK no configuration errors', 1, true), 'no configuration errors:\n' .. report)

  -- A value the server rejects, pushed as a user changing settings would.
  local client = require('codex_ls').client(bufnr)
  client.settings.codex.timeoutSecs = 0
  client.settings.codex.colour = 'blue'
  client:notify('workspace/didChangeConfiguration', { settings = client.settings })
  H.wait('the server to reject timeoutSecs', function()
    return #require('codex_ls.health').config_errors > 0
  end)
  report = checkhealth()
  H.truthy(report:find('ERROR codex-ls configuration: `timeoutSecs`', 1, true), 'rejected value:\n' .. report)
  H.truthy(report:find('WARNING unknown key `colour`', 1, true), 'unknown key:\n' .. report)
end)

H.test('a report with reset starts the answer over', function()
  -- A retry as codex-ls reports it (the mock model cannot make codex retry),
  -- fed through Neovim's own $/progress handler.
  local bufnr = H.open('src/lib.rs')
  local client = require('codex_ls').client(bufnr)
  local run = require('codex_ls.commands').register({
    command = 'codex.run',
    title = 'Codex: Ask',
    kind = 'answer',
    bufnr = bufnr,
    uri = vim.uri_from_bufnr(bufnr),
  }, client)
  local function progress(value)
    vim.lsp.handlers['$/progress'](
      nil,
      { token = run.token, value = value },
      { client_id = client.id, method = '$/progress' }
    )
  end
  progress({ kind = 'begin', title = 'Codex: Ask', cancellable = true, codex = { runId = 1000 } })
  progress({ kind = 'report', message = 'First', codex = { runId = 1000, delta = 'First try', seq = 1 } })
  H.eq('First try', run.answer:answer_text(run.token), 'before the retry')
  progress({ kind = 'report', message = 'Second', codex = { runId = 1000, delta = 'Second', seq = 2, reset = true } })
  progress({ kind = 'report', message = 'try.', codex = { runId = 1000, delta = ' try.', seq = 3 } })
  progress({
    kind = 'end',
    message = 'done',
    codex = { runId = 1000, status = 'completed', assistantText = 'Second try.' },
  })
  local window = H.answer_window(run.token)
  H.eq('Second try.', window.answer, 'the answer after the reset')
  H.truthy(window.title:find('completed', 1, true), 'title: ' .. window.title)
  H.eq(1, run.resets, 'resets counted')
  run.answer:close()
end)

H.test(':CodexStatus and :CodexNewThread answer through vim.notify', function()
  H.open('src/lib.rs')
  local messages = {}
  local notify = vim.notify
  vim.notify = function(message, level)
    table.insert(messages, { message = message, level = level })
  end
  local ok, err = pcall(function()
    H.type(':CodexStatus<CR>')
    local status = H.wait('the status message', function()
      return messages[1]
    end)
    H.truthy(status.message:find('codex-ls ' .. data.server_version, 1, true), status.message)
    H.truthy(status.message:find('backend: ready, Codex CLI ' .. data.codex_version, 1, true), status.message)
    H.type(':CodexNewThread<CR>')
    local reset = H.wait('the new-thread message', function()
      return messages[2]
    end)
    H.eq('codex-ls: the next run starts a new Codex thread', reset.message, 'new thread')
    H.eq(vim.log.levels.INFO, reset.level, 'level')
  end)
  vim.notify = notify
  assert(ok, err)
end)
