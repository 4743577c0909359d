-- The conversation buffer: one markdown buffer per document's conversation,
-- each question above its answer, a follow-up (`:CodexAsk` typed in it)
-- continuing the conversation in the same window, titled by what was asked.
-- The first test runs against the real server; the others stub
-- `codex.conversation`, `...s`, `openConversation` and `steer` with the
-- README's payloads, for cases the mock model cannot make (a turn in
-- progress, a failed turn in the history). `history_*_spec.lua`,
-- `steer_spec.lua` and `busy_spec.lua` drive the real server.
local H = require('harness')
local data = H.data()
local codex_ls = require('codex_ls')
local answer = require('codex_ls.answer')
local commands = require('codex_ls.commands')

--- Answers the listed server commands as the contract says they answer
--- (each `fn(argument)` returns `err, result`), records every call, and
--- passes the others to the real server. Returns the calls and an undo.
---@param answers table<string, fun(argument: table): (table?, any)>
local function stub(answers)
  local real_exec, real_offers = codex_ls.exec, codex_ls.offers
  local calls = {}
  codex_ls.offers = function(client, command)
    return answers[command] ~= nil or real_offers(client, command)
  end
  codex_ls.exec = function(client, command, argument, handler, bufnr)
    local answer_of = answers[command]
    if not answer_of then
      return real_exec(client, command, argument, handler, bufnr)
    end
    calls[#calls + 1] = { command = command, argument = vim.deepcopy(argument) }
    local err, result = answer_of(argument)
    vim.schedule(function()
      handler(err, result)
    end)
  end
  return calls, function()
    codex_ls.exec, codex_ls.offers = real_exec, real_offers
  end
end

--- Captures `vim.notify` messages while `fn` runs.
local function capture_notify(fn)
  local messages = {}
  local notify = vim.notify
  vim.notify = function(message)
    messages[#messages + 1] = message
  end
  local ok, err = pcall(fn, messages)
  vim.notify = notify
  assert(ok, err)
end

--- Wipes every conversation buffer, as if Neovim had just started.
local function forget_conversations()
  for _, window in pairs(answer.conversations) do
    pcall(vim.api.nvim_buf_delete, window.buf, { force = true })
  end
end

local function lines_of(text)
  return vim.split(text, '\n', { plain = true })
end

H.test('a follow-up typed in the conversation buffer continues it in the same window', function()
  local bufnr = H.open('src/lib.rs')
  local first = H.start_answer('CodexAsk ' .. data.first_prompt)
  H.truthy(
    first.title:find('Codex: ' .. data.first_prompt, 1, true),
    'the title says what was asked (not "Codex: Run"): ' .. first.title
  )
  first = H.wait_run_end(first.token, 'completed')
  H.eq(data.first_answer, first.answer, 'first answer')
  H.eq('## ' .. data.first_prompt, lines_of(first.text)[1], 'the question heads its answer')
  H.eq('_whole file_', lines_of(first.text)[2], 'what the question was about')

  -- The follow-up, typed in the conversation window.
  vim.api.nvim_set_current_win(first.win)
  H.type(':CodexAsk ' .. data.second_prompt .. '<CR>')
  local second = H.wait('the follow-up to start in the same window', function()
    local window = H.answer_windows()[1]
    return window and window.token ~= first.token and window
  end)
  H.eq(first.buf, second.buf, 'the same conversation buffer')
  H.eq(first.win, second.win, 'the same window')
  second = H.wait_run_end(second.token, 'completed')
  H.eq(1, #H.answer_windows(), 'one window for the conversation')
  H.eq(data.second_answer, second.answer, 'second answer')
  H.truthy(
    second.title:find('Codex: ' .. data.second_prompt, 1, true),
    'the title says what was asked last: ' .. second.title
  )
  local text = second.text
  local q1, a1 = text:find('## ' .. data.first_prompt, 1, true), text:find(data.first_answer, 1, true)
  local q2, a2 = text:find('## ' .. data.second_prompt, 1, true), text:find(data.second_answer, 1, true)
  H.truthy(q1 and a1 and q2 and a2 and q1 < a1 and a1 < q2 and q2 < a2, 'question, answer, question, answer:\n' .. text)
  local run = commands.runs[second.token]
  H.eq(bufnr, run.bufnr, "the follow-up attached the conversation's document")
  H.truthy(run.thread_id, 'the thread of the conversation, from the reports')
  H.eq(run.thread_id, commands.runs[first.token].thread_id, 'one thread for both')
  H.eq(run.thread_id, second.window.thread_id, 'the window knows its thread')
end)

H.test('a codex-ls with conversations gets the thread of a follow-up, and its wish to queue', function()
  local window = H.answer_windows()[1]
  local thread = window.window.thread_id
  local calls, undo = stub({
    ['codex.conversation'] = function()
      return nil, vim.NIL
    end,
    ['codex.run'] = function()
      return { code = -32603, message = 'recorded by the spec' }, nil
    end,
  })
  local ok, err = pcall(function()
    vim.api.nvim_set_current_win(window.win)
    H.type(':CodexAsk Why?<CR>')
    H.wait('the follow-up to be sent', function()
      return calls[1]
    end)
    H.eq('codex.run', calls[1].command, 'command')
    H.eq(thread, calls[1].argument.threadId, 'the conversation named by its thread')
    H.eq('Why?', calls[1].argument.prompt, 'prompt')
    H.eq(nil, calls[1].argument.range, 'no range')
    H.eq(nil, calls[1].argument.queue, 'no queueing unless asked')
    H.eq(vim.uri_from_bufnr(window.window.source.bufnr), calls[1].argument.textDocument.uri, 'the document attached')
  end)
  undo()
  vim.cmd.wincmd('p')
  assert(ok, err)
end)

H.test('a busy conversation refuses a follow-up at once, offering to steer; :CodexSteer adds to the turn', function()
  forget_conversations()
  local bufnr = H.open('src/util.rs')
  local client = codex_ls.client(bufnr)
  local run = commands.register({
    command = 'codex.run',
    title = 'Codex: Ask',
    prompt = 'What does double do?',
    kind = 'answer',
    bufnr = bufnr,
    uri = vim.uri_from_bufnr(bufnr),
  }, client)
  local function progress(value)
    local ctx = { client_id = client.id, method = '$/progress' }
    vim.lsp.handlers['$/progress'](nil, { token = run.token, value = value }, ctx)
  end
  progress({ kind = 'begin', title = 'Codex: Run', message = 'whole file', codex = { runId = 4242, kind = 'answer' } })
  progress({
    kind = 'report',
    message = 'Writing the answer',
    codex = { runId = 4242, threadId = 'thr-busy', turnId = 'turn-1', seq = 1, delta = 'It doubles' },
  })
  local window = H.answer_window(run.token)
  local calls, undo = stub({
    ['codex.steer'] = function(argument)
      return nil, { runId = argument.runId }
    end,
  })
  local ok, err = pcall(capture_notify, function(messages)
    vim.api.nvim_set_current_win(window.win)
    local runs_before = vim.tbl_count(commands.runs)
    H.type(':CodexAsk And for negatives?<CR>')
    local refusal = H.wait('the refusal', function()
      return messages[1]
    end)
    H.truthy(refusal:find('busy', 1, true) and refusal:find(':CodexSteer', 1, true), 'offers to steer: ' .. refusal)
    H.truthy(refusal:find(':CodexCancel', 1, true), 'offers to cancel: ' .. refusal)
    H.eq(runs_before, vim.tbl_count(commands.runs), 'no run started')
    H.eq(run.token, H.answer_window(run.token).window.token, 'the running run is still the newest')

    H.type(':CodexSteer also negatives<CR>')
    H.wait('the steer to be sent', function()
      return calls[1]
    end)
    H.eq({ command = 'codex.steer', argument = { runId = 4242, prompt = 'also negatives' } }, calls[1], 'steer')
    H.wait('the steer to show under the question', function()
      return H.answer_window(run.token).text:find('> also negatives', 1, true)
    end)
    -- The answer starts over with the steered input.
    progress({
      kind = 'report',
      message = 'Writing the answer',
      codex = { runId = 4242, seq = 2, reset = true, delta = 'It doubles x, negatives too.' },
    })
    H.eq('It doubles x, negatives too.', H.answer_window(run.token).answer, 'restarted answer')
  end)
  undo()
  progress({ kind = 'end', message = 'done', codex = { runId = 4242, status = 'completed' } })
  vim.cmd.wincmd('p')
  assert(ok, err)
end)

--- A conversation as `codex.conversation` returns it.
local kept = {
  threadId = 'thr-kept',
  title = 'About double',
  turns = {
    {
      turnId = 't1',
      prompt = 'What does double do?',
      title = 'Codex: Run',
      status = 'completed',
      answer = 'It doubles x.',
      items = {
        {
          id = 'c1',
          type = 'command',
          status = 'completed',
          title = 'Ran `ls` (exit 0)',
          command = 'ls',
          output = 'src\n',
        },
      },
      startedAt = 1764000000,
    },
    { turnId = 't2', prompt = 'Make it triple', title = 'Codex: Run', status = 'failed', answer = '', items = {} },
    { turnId = 't3', prompt = 'Still running', title = 'Codex: Run', status = 'inProgress', answer = '', items = {} },
  },
}

H.test(':CodexConversation after a restart shows the history Codex kept', function()
  forget_conversations()
  local bufnr = H.open('src/util.rs')
  local calls, undo = stub({
    ['codex.conversation'] = function()
      return nil, kept
    end,
  })
  local ok, err = pcall(function()
    H.type(':CodexConversation<CR>')
    local window = H.wait('the conversation window with the history', function()
      local window = H.answer_windows()[1]
      return window and window.text:find('It doubles x.', 1, true) and window
    end)
    local asked = { command = 'codex.conversation', argument = { textDocument = { uri = vim.uri_from_bufnr(bufnr) } } }
    H.eq(asked, calls[1], 'asked')
    local lines = lines_of(window.text)
    H.eq('## What does double do?', lines[1], 'first question')
    H.truthy(vim.list_contains(lines, '▸ Ran `ls` (exit 0)'), 'its steps, folded: ' .. window.text)
    H.truthy(vim.list_contains(lines, '## Make it triple'), 'second question')
    H.truthy(vim.list_contains(lines, '**failed**'), 'its outcome')
    H.truthy(not window.text:find('Still running', 1, true), 'a turn in progress is the live run, not history')
    H.eq('thr-kept', window.window.thread_id, 'the thread')
    H.truthy(window.title:find('About double', 1, true), 'titled by the conversation: ' .. window.title)
    H.eq(window.win, vim.api.nvim_get_current_win(), 'the window has the focus')
  end)
  undo()
  vim.cmd.wincmd('p')
  assert(ok, err)
end)

H.test(':CodexConversations picks an earlier conversation, binds the document to it and shows it', function()
  forget_conversations()
  local bufnr = H.open('src/lib.rs')
  local uri = vim.uri_from_bufnr(bufnr)
  local calls, undo = stub({
    ['codex.conversations'] = function()
      return nil,
        {
          conversations = {
            { threadId = 'thr-new', title = 'Refactor add', updatedAt = 1764000000, turns = 2 },
            { threadId = 'thr-kept', title = 'About double', updatedAt = 1763000000, turns = 3 },
          },
        }
    end,
    ['codex.openConversation'] = function(argument)
      return nil, { threadId = argument.threadId }
    end,
    ['codex.conversation'] = function()
      return nil, kept
    end,
  })
  local select = vim.ui.select
  local offered
  vim.ui.select = function(items, opts, on_choice)
    offered = vim.tbl_map(opts.format_item, items)
    on_choice(items[2], 2)
  end
  local ok, err = pcall(function()
    H.type(':CodexConversations<CR>')
    local window = H.wait('the picked conversation', function()
      local window = H.answer_windows()[1]
      return window and window.text:find('It doubles x.', 1, true) and window
    end)
    H.truthy(offered[1]:find('Refactor add · 2 exchange(s) · ', 1, true), 'listed: ' .. vim.inspect(offered))
    H.eq('codex.conversations', calls[1].command, 'listed first')
    H.eq(
      { command = 'codex.openConversation', argument = { threadId = 'thr-kept', textDocument = { uri = uri } } },
      calls[2],
      'then bound'
    )
    H.eq({ command = 'codex.conversation', argument = { threadId = 'thr-kept' } }, calls[3], 'then read')
    H.eq('thr-kept', window.window.thread_id, 'the window continues the picked thread')
    H.eq(answer.key_of(uri), window.window.key, "the document's conversation window")
  end)
  vim.ui.select = select
  undo()
  vim.cmd.wincmd('p')
  assert(ok, err)
end)
