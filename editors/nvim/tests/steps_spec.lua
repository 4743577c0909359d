-- The agent's steps (README "Streaming", `codex.items`), fed as codex-ls
-- reports them through Neovim's own $/progress handler: the plugin folds
-- the updates (scalars replace, `text` and `outputDelta` append), draws the
-- steps folded under the answer, expands one on <CR>, and shows the current
-- step in the window's title and in vim.lsp.status().
local H = require('harness')
local protocol = require('codex_ls.protocol')

--- A run of the plugin's own, and a function that feeds it progress values.
local function fake_run(bufnr)
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
  return run, progress
end

H.test('updates fold into steps: scalars replace, text and output append', function()
  local steps = protocol.new_steps()
  protocol.fold_updates(steps, {
    { id = 'r1', type = 'reasoning', status = 'inProgress', title = 'Thinking', text = 'Look at ' },
    {
      id = 'c1',
      type = 'command',
      status = 'inProgress',
      title = 'Running `cargo test`',
      command = 'cargo test',
      cwd = '/w',
      outputDelta = 'running 2 tests\n',
    },
  })
  protocol.fold_updates(steps, {
    { id = 'r1', type = 'reasoning', status = 'completed', title = 'Thought', text = 'the tests.' },
    {
      id = 'c1',
      type = 'command',
      status = 'completed',
      title = 'Ran `cargo test` (exit 0)',
      exitCode = 0,
      outputDelta = 'test result: ok\n',
    },
    {
      id = 'c2',
      type = 'command',
      status = 'inProgress',
      title = 'Running `yes`',
      command = 'yes',
      outputDelta = 'y\n',
      outputSkipped = 4096,
    },
    'not an item',
  })
  H.eq({ 'r1', 'c1', 'c2' }, vim.tbl_map(function(step)
    return step.id
  end, steps.list), 'steps in the order they first appeared')
  local thinking, command = steps.by_id.r1, steps.by_id.c1
  H.eq('Look at the tests.', thinking.text, 'text appends')
  H.eq('completed', thinking.status, 'status replaced')
  H.eq('Thought', thinking.title, 'title replaced')
  H.eq('running 2 tests\ntest result: ok\n', command.output, 'output appends')
  H.eq(0, command.exitCode, 'exit code')
  H.eq('/w', command.cwd, 'a field absent from an update is kept')
  H.eq(4096, steps.by_id.c2.skipped, 'skipped bytes counted')
  H.truthy(steps.by_id.c2.output:find('4096 bytes skipped', 1, true), 'the gap is marked: ' .. steps.by_id.c2.output)

  protocol.set_final(steps, {
    {
      id = 'c1',
      type = 'command',
      status = 'completed',
      title = 'Ran `cargo test` (exit 0)',
      command = 'cargo test',
      exitCode = 0,
      output = 'whole output\n',
    },
  })
  H.eq(1, #steps.list, 'the final items replace the streamed ones')
  H.eq('whole output\n', steps.by_id.c1.output, 'final output is whole')
end)

H.test('the answer window shows the steps folded, <CR> expands them, the title the current step', function()
  local bufnr = H.open('src/lib.rs')
  local run, progress = fake_run(bufnr)
  progress({ kind = 'begin', title = 'Codex: Ask', cancellable = true, codex = { runId = 2000 } })
  progress({
    kind = 'report',
    message = 'Running `cargo test`',
    codex = {
      runId = 2000,
      seq = 1,
      delta = '',
      items = {
        { id = 'plan', type = 'plan', status = 'inProgress', title = 'Plan', plan = {
          { step = 'Run the tests', status = 'completed' },
          { step = 'Explain', status = 'inProgress' },
        } },
        {
          id = 'c1',
          type = 'command',
          status = 'inProgress',
          title = 'Running `cargo test`',
          command = 'cargo test',
          cwd = '/w',
          outputDelta = 'running 2 tests\n',
        },
      },
    },
  })
  local window = H.answer_window(run.token)
  H.truthy(window.title:find('Running `cargo test`', 1, true), 'the title shows the current step: ' .. window.title)
  H.truthy(vim.lsp.status():find('Running `cargo test`', 1, true), 'vim.lsp.status(): ' .. vim.lsp.status())
  progress({
    kind = 'report',
    message = 'Writing the answer: The tests pass.',
    codex = {
      runId = 2000,
      seq = 2,
      delta = 'The tests pass.',
      items = {
        {
          id = 'c1',
          type = 'command',
          status = 'completed',
          title = 'Ran `cargo test` (exit 0)',
          exitCode = 0,
          outputDelta = 'test result: ok. 2 passed\n',
        },
        { id = 'f1', type = 'fileChange', status = 'completed', title = 'Edited src/lib.rs', changes = {
          { path = 'src/lib.rs', kind = 'update', diff = '@@ -1 +1 @@\n-old\n+new\n' },
        } },
        {
          id = 'retry-1',
          type = 'retry',
          status = 'failed',
          title = 'Reconnecting (2/5)',
          text = 'stream disconnected',
        },
      },
    },
  })
  window = H.answer_window(run.token)
  local lines = vim.split(window.text, '\n', { plain = true })
  -- The exchange's lines: the question above, then the answer, a blank
  -- line, the steps.
  local at = window.first - 1
  H.eq('## Codex: Ask', lines[at - 1], 'the question heads the exchange (a run without a prompt: its title)')
  H.eq('The tests pass.', lines[at + 1], 'the answer comes first')
  H.eq('▸ Plan', lines[at + 3], 'the plan, folded')
  H.eq('▸ Ran `cargo test` (exit 0)', lines[at + 4], 'the command, folded')
  H.eq('▸ Edited src/lib.rs', lines[at + 5], 'the file change, folded')
  H.eq('▸ Reconnecting (2/5) (failed)', lines[at + 6], 'the retry')
  H.truthy(not window.text:find('test result', 1, true), 'output hidden while folded')
  H.truthy(window.title:find('Writing the answer', 1, true), 'the title follows the step: ' .. window.title)

  -- `gd` on the file change opens its diff in a tab of its own.
  vim.api.nvim_set_current_win(window.win)
  vim.api.nvim_win_set_cursor(window.win, { at + 5, 0 })
  local tab = vim.api.nvim_get_current_tabpage()
  H.type('gd')
  local diff = H.wait('the diff of the file change', function()
    local buf = vim.api.nvim_get_current_buf()
    return vim.api.nvim_get_current_tabpage() ~= tab and vim.bo[buf].filetype == 'diff' and buf
  end)
  local expected = { '--- a/src/lib.rs', '+++ b/src/lib.rs', '@@ -1 +1 @@', '-old', '+new' }
  H.eq(expected, vim.api.nvim_buf_get_lines(diff, 0, -1, false), 'diff')
  H.type('q')
  H.wait('back in the conversation', function()
    return vim.api.nvim_get_current_win() == window.win
  end)

  -- <CR> on the command's line, typed in the window, shows its output.
  vim.api.nvim_set_current_win(window.win)
  vim.api.nvim_win_set_cursor(window.win, { at + 4, 0 })
  H.type('<CR>')
  H.wait('the command to expand', function()
    return H.answer_window(run.token).text:find('test result: ok. 2 passed', 1, true)
  end)
  lines = vim.split(H.answer_window(run.token).text, '\n', { plain = true })
  H.eq('▾ Ran `cargo test` (exit 0)', lines[at + 4], 'expanded mark')
  H.eq('  $ cargo test   (in /w)', lines[at + 5], 'the command and its cwd')
  H.eq('  running 2 tests', lines[at + 6], 'output, first line')
  H.eq('  test result: ok. 2 passed', lines[at + 7], 'output appended by the second report')
  -- The plan expands to a checklist, the file change to its diff.
  vim.api.nvim_win_set_cursor(window.win, { at + 3, 0 })
  H.type('za')
  H.wait('the plan to expand', function()
    return H.answer_window(run.token).text:find('[x] Run the tests', 1, true)
  end)
  H.truthy(H.answer_window(run.token).text:find('  [~] Explain', 1, true), 'plan checklist')
  -- Still expanded after the next report redraws the buffer.
  progress({ kind = 'report', message = 'Writing the answer', codex = { runId = 2000, seq = 3, delta = ' Done.' } })
  H.truthy(H.answer_window(run.token).text:find('test result: ok. 2 passed', 1, true), 'kept expanded')
  -- <CR> again folds it.
  local command_line
  for index, line in ipairs(vim.split(H.answer_window(run.token).text, '\n', { plain = true })) do
    if line == '▾ Ran `cargo test` (exit 0)' then
      command_line = index
    end
  end
  vim.api.nvim_win_set_cursor(window.win, { command_line, 0 })
  H.type('<CR>')
  H.wait('the command to fold again', function()
    return not H.answer_window(run.token).text:find('test result', 1, true)
  end)

  progress({
    kind = 'end',
    message = 'Codex answered',
    codex = {
      runId = 2000,
      status = 'completed',
      assistantText = 'The tests pass. Done.',
      items = {
        {
          id = 'c1',
          type = 'command',
          status = 'completed',
          title = 'Ran `cargo test` (exit 0)',
          command = 'cargo test',
          exitCode = 0,
          output = 'all of it\n',
        },
      },
      usage = {
        inputTokens = 10,
        cachedInputTokens = 0,
        outputTokens = 5,
        reasoningOutputTokens = 0,
        totalTokens = 15,
      },
    },
  })
  window = H.answer_window(run.token)
  H.truthy(window.title:find('completed', 1, true), 'title: ' .. window.title)
  H.truthy(not window.title:find('Writing', 1, true), 'no step in the title of an ended run: ' .. window.title)
  H.truthy(window.text:find('▸ Ran `cargo test` (exit 0)', 1, true), 'final steps: ' .. window.text)
  H.truthy(not window.text:find('Reconnecting', 1, true), 'the final items replace the streamed ones')
  H.eq(15, run.usage.totalTokens, 'usage kept')
  vim.cmd.wincmd('p')
  run.answer:close()
end)

--- Feeds a `$/progress` value on `token` as codex-ls sends it.
local function feed(client, token, value)
  local ctx = { client_id = client.id, method = '$/progress' }
  vim.lsp.handlers['$/progress'](nil, { token = token, value = value }, ctx)
end

H.test('a run on a server token opens a window only when `begin.codex.kind` says answer, or says nothing', function()
  local bufnr = H.open('src/lib.rs')
  local client = require('codex_ls').client(bufnr)
  local runs = require('codex_ls.commands').runs
  local cases = {
    { id = 3001, kind = 'edit', window = false },
    { id = 3002, kind = 'review', window = false },
    { id = 3003, kind = 'answer', window = true },
    -- A server from before `begin.codex.kind`.
    { id = 3004, kind = nil, window = true },
  }
  for _, case in ipairs(cases) do
    local token = 'codex-ls/run/' .. case.id
    feed(client, token, {
      kind = 'begin',
      title = 'Codex: Rewrite',
      cancellable = true,
      message = 'Codex is working… line 3',
      codex = { runId = case.id, kind = case.kind },
    })
    local run = H.truthy(runs[token], 'the run on ' .. token .. ' was adopted')
    H.eq(case.kind or 'answer', run.kind, 'the kind of ' .. token)
    H.eq(case.window, H.answer_window(token) ~= nil, 'an answer window for ' .. tostring(case.kind))
  end

  -- The edit streams its JSON: no window shows it; it ends in one line.
  local edit = runs['codex-ls/run/3001']
  feed(client, edit.token, {
    kind = 'report',
    message = 'Codex is writing the edit…',
    codex = { runId = 3001, seq = 1, delta = '{"replacement":"x' },
  })
  H.eq('Codex is writing the edit…', edit.step, 'the current step')
  feed(client, edit.token, {
    kind = 'end',
    message = 'Edit applied. Wraps.',
    codex = {
      runId = 3001,
      status = 'completed',
      edit = { status = 'applied', replacement = 'x', explanation = 'Wraps.' },
    },
  })
  H.truthy(edit.ended_at, 'the edit ended')
  local messages = vim.fn.execute('messages')
  H.truthy(messages:find('Codex: Rewrite: edit applied. Wraps.', 1, true), 'the outcome in one line: ' .. messages)
  H.truthy(not messages:find('replacement', 1, true), 'no JSON in the messages: ' .. messages)
  for _, case in ipairs(cases) do
    local token = 'codex-ls/run/' .. case.id
    feed(client, token, { kind = 'end', message = 'Cancelled', codex = { runId = case.id, status = 'interrupted' } })
    local window = H.answer_window(token)
    if window then
      vim.api.nvim_win_close(window.win, true)
    end
  end
end)
