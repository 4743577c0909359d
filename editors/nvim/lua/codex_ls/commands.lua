--- The `:Codex*` commands, buffer-local where codex-ls attaches, and the
--- registry of the runs they start.
---
--- Each run command calls the server's command (`codex.run`,
--- `codex.explain`, ...) with a `progressToken` of its own, so the run's
--- `$/progress` reports (which Neovim also feeds to `vim.lsp.status()` and
--- the `LspProgress` event) are found by token and drawn into the run's
--- answer window. Code actions (`vim.lsp.buf.code_action()`) run through
--- the same path (see `M.exec_command`), and runs that reach the server
--- without a token (another plugin's `workspace/executeCommand`) are
--- adopted when their progress begins on a token the server created.
local codex_ls = require('codex_ls')
local answer = require('codex_ls.answer')
local proposal = require('codex_ls.proposal')
local protocol = require('codex_ls.protocol')

local M = {}

---@class codex_ls.Run
---@field token string the progressToken this plugin made
---@field command string the server's command, e.g. `codex.explain`
---@field title string
---@field prompt? string the user's question (`codex.run`)
---@field scope? codex_ls.Scope the conversation: the document's (default) or the workspace's
---@field selection? string what the run was about, as the server says it (`lines 2-3`)
---@field thread_id? string the Codex thread, from the reports
---@field turn_id? string the Codex turn, from the reports
---@field kind 'answer'|'edit'|'review' answer runs stream into a window
---@field bufnr integer the source buffer
---@field uri string
---@field client_id integer
---@field run_id? integer from the server's answer or the `begin` report
---@field status 'starting'|'running'|'completed'|'failed'|'interrupted'|'timeout'
---@field text string the streamed answer: the deltas since the last reset
---@field reports integer `report`s received
---@field resets integer reports that started the answer over
---@field started_at number `vim.uv.hrtime()` when the command was sent
---@field ended_at? number `vim.uv.hrtime()` when the run ended
---@field result? table the `codex` object of the `end` report
---@field error? { code: string, message: string }
---@field answer? codex_ls.AnswerWindow
---@field step string the current step in words (the last report's `message`)
---@field steps { list: codex_ls.Step[], by_id: table<string, codex_ls.Step> } the agent's steps
---@field usage? codex_ls.Usage tokens of the turn, from `end`

--- Every run this Neovim started, by token; ended runs stay for inspection
--- until their window closes (or the next 50 runs push them out).
---@type table<string, codex_ls.Run>
M.runs = {}

local sequence = 0
--- Starts a run (defined below, used by the follow-ups above it).
local start
local ended_order = {} ---@type string[]

local function new_token()
  sequence = sequence + 1
  return ('codex_ls.nvim/%d/%d'):format(vim.fn.getpid(), sequence)
end

local function notify(message, level)
  vim.notify('codex-ls: ' .. message, level or vim.log.levels.INFO, { title = 'codex-ls' })
end

--- `text` on one line that fits the command line: a longer message, or one
--- of several lines, stops the user with "Press ENTER".
---@param text string
---@return string
function M.one_line(text)
  text = text:gsub('%s*\n%s*', ' ')
  local room = math.max(vim.v.echospace, 10)
  if vim.fn.strdisplaywidth(text) > room then
    text = vim.fn.strcharpart(text, 0, room - 1) .. '…'
    while vim.fn.strdisplaywidth(text) > room do
      text = vim.fn.strcharpart(text, 0, vim.fn.strchars(text) - 2) .. '…'
    end
  end
  return text
end

--- Tells an outcome in one line that fits the command line (the whole of it
--- stays in `:messages`' history only as far as it fits; the run's `end`
--- value in `CodexLsRunEnd` has all of it).
local function notify_line(message, level)
  vim.notify(M.one_line('codex-ls: ' .. message), level or vim.log.levels.INFO, { title = 'codex-ls' })
end

--- Shows an edit or review run's current step in the command line, without
--- history: such runs have no window, and Neovim shows no progress itself.
--- Skipped with 'cmdheight' 0, where any message takes screen lines.
---@param run codex_ls.Run
local function echo_step(run)
  if vim.o.cmdheight == 0 or run.step == '' then
    return
  end
  vim.api.nvim_echo({ { M.one_line(('codex-ls: %s: %s'):format(run.title, run.step)) } }, false, {})
end

--- The current buffer and its codex-ls client; without a client, the user
--- is told so and the client is nil.
---@return integer bufnr, vim.lsp.Client? client
local function attached()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = codex_ls.client(bufnr)
  if not client then
    notify('codex-ls is not attached to this buffer (see :checkhealth codex_ls)', vim.log.levels.ERROR)
  end
  return bufnr, client
end

--- A command's answer handler: a failure is told as `<what> failed: ...`,
--- a result goes to `on_result`.
---@param what string
---@param on_result? fun(result: any)
---@return fun(err: lsp.ResponseError?, result: any)
local function reporting(what, on_result)
  return function(err, result)
    if err then
      notify(what .. ' failed: ' .. (err.message or ''), vim.log.levels.ERROR)
    elseif on_result then
      on_result(result)
    end
  end
end

--- Sends the server's `command` for the current buffer: a failure is told
--- as `<what> failed: ...`, an answer goes to `on_result`.
---@param command string
---@param argument table?
---@param what string
---@param on_result fun(result: any)
local function exec_current(command, argument, what, on_result)
  local bufnr, client = attached()
  if client then
    codex_ls.exec(client, command, argument, reporting(what, on_result), bufnr)
  end
end

--- The LSP range of a command's selection: the Visual selection (charwise
--- when it was made with `v`), or the `:range` lines; nil without a range.
---@param bufnr integer
---@param opts table the user command's arguments
---@param encoding string the client's position encoding
---@return lsp.Range?
function M.selection_range(bufnr, opts, encoding)
  if not opts or (opts.range or 0) == 0 then
    return nil
  end
  local line1, line2 = opts.line1, opts.line2
  local first = vim.api.nvim_buf_get_mark(bufnr, '<')
  local last = vim.api.nvim_buf_get_mark(bufnr, '>')
  if vim.fn.visualmode() == 'v' and first[1] == line1 and last[1] == line2 then
    local start_line = vim.api.nvim_buf_get_lines(bufnr, line1 - 1, line1, false)[1] or ''
    local end_line = vim.api.nvim_buf_get_lines(bufnr, line2 - 1, line2, false)[1] or ''
    local start = {
      line = line1 - 1,
      character = vim.lsp.util.character_offset(bufnr, line1 - 1, math.min(first[2], #start_line), encoding),
    }
    local finish
    if last[2] >= #end_line then
      -- The selection takes the end of the line, its line break included.
      finish = { line = line2, character = 0 }
    else
      -- '> marks the first byte of the last character; the range ends after it.
      local after = last[2] + 1 + vim.str_utf_end(end_line, last[2] + 1)
      finish = {
        line = line2 - 1,
        character = vim.lsp.util.character_offset(bufnr, line2 - 1, after, encoding),
      }
    end
    return { start = start, ['end'] = finish }
  end
  return { start = { line = line1 - 1, character = 0 }, ['end'] = { line = line2, character = 0 } }
end

--- The current line as a range (for edit commands given no range).
local function current_line_range()
  local line = vim.api.nvim_win_get_cursor(0)[1]
  return { start = { line = line - 1, character = 0 }, ['end'] = { line = line, character = 0 } }
end

--- The buffer's diagnostics on the range's lines as LSP diagnostics, for
--- `codex.fix`. codex-ls's own failure reports (source `codex`) are left out:
--- they are about the run, not the code.
---@param bufnr integer
---@param range lsp.Range
---@return lsp.Diagnostic[]
function M.diagnostics_in(bufnr, range)
  local last = range['end'].line
  if range['end'].character == 0 and last > range.start.line then
    last = last - 1
  end
  local picked = {}
  for _, diagnostic in ipairs(vim.diagnostic.get(bufnr)) do
    local finish = diagnostic.end_lnum or diagnostic.lnum
    if diagnostic.lnum <= last and finish >= range.start.line and diagnostic.source ~= 'codex' then
      table.insert(picked, diagnostic)
    end
  end
  if vim.lsp.diagnostic.from then
    return vim.lsp.diagnostic.from(picked)
  end
  return vim.tbl_map(function(diagnostic)
    local lsp = diagnostic.user_data and diagnostic.user_data.lsp
    return lsp
      or {
        range = {
          start = { line = diagnostic.lnum, character = diagnostic.col },
          ['end'] = { line = diagnostic.end_lnum or diagnostic.lnum, character = diagnostic.end_col or diagnostic.col },
        },
        severity = diagnostic.severity,
        message = diagnostic.message,
        source = diagnostic.source,
        code = diagnostic.code,
      }
  end, picked)
end

local function forget_ended()
  while #ended_order > 50 do
    local token = table.remove(ended_order, 1)
    local run = M.runs[token]
    if run and not (run.answer and run.answer:is_open()) then
      M.runs[token] = nil
    end
  end
end

--- Registers a run under a new progress token (and, for answer runs,
--- opens its answer window), so its `$/progress` reports find it.
---@class codex_ls.RunSpec
---@field command string
---@field title string
---@field kind 'answer'|'edit'|'review'
---@field bufnr integer
---@field uri string
---@field token? string a token the server made, for a run the plugin adopts
---@field prompt? string
---@field scope? codex_ls.Scope

---@param spec codex_ls.RunSpec
---@param client vim.lsp.Client
---@return codex_ls.Run
function M.register(spec, client)
  local token = spec.token or new_token()
  ---@type codex_ls.Run
  local run = {
    token = token,
    command = spec.command,
    title = spec.title,
    prompt = spec.prompt,
    scope = spec.scope,
    kind = spec.kind,
    bufnr = spec.bufnr,
    uri = spec.uri,
    client_id = client.id,
    status = 'starting',
    text = '',
    reports = 0,
    resets = 0,
    started_at = vim.uv.hrtime(),
    step = '',
    steps = protocol.new_steps(),
  }
  M.runs[token] = run
  if run.kind == 'answer' then
    local made
    run.answer, made = answer.open(run, M.source_of(run.bufnr, client, run.scope), M.conversation_actions)
    if made then
      M.load_history(run.answer, client)
    end
  end
  return run
end

--- Ends a run (from its `end` report, or when the command itself failed).
---@param run codex_ls.Run
---@param status string
---@param err? { code: string, message: string }
---@param result? table the `end` report's `codex` object
function M.finish(run, status, err, result)
  if run.ended_at then
    return
  end
  run.ended_at = vim.uv.hrtime()
  run.status = status
  run.error = err
  run.result = result
  if run.text == '' and result and type(result.assistantText) == 'string' then
    run.text = result.assistantText
  end
  table.insert(ended_order, run.token)
  forget_ended()
  if run.answer then
    run.answer:update(run)
  end
  M.announce(run)
  M.review_proposal(run)
  vim.api.nvim_exec_autocmds('User', {
    pattern = 'CodexLsRunEnd',
    modeline = false,
    data = { token = run.token, status = run.status, error = run.error, result = run.result },
  })
end

--- What the user hears when a run without a window ends, or a run fails.
---@param run codex_ls.Run
function M.announce(run)
  local result = run.result or {}
  if run.status == 'failed' or run.status == 'timeout' then
    local err = run.error or {}
    if not run.answer then
      notify(('%s %s (%s): %s'):format(run.title, run.status, err.code or '?', err.message or ''), vim.log.levels.ERROR)
    end
    return
  end
  if run.status == 'interrupted' then
    if not run.answer then
      notify(run.title .. ' cancelled')
    end
    return
  end
  if run.kind == 'edit' then
    local edit = result.edit or {}
    if protocol.proposal(result) then
      local keys = '(%s accepts, %s accepts the change under the cursor, %s rejects)'
      notify_line(('%s: review the proposed edit ' .. keys):format(
        run.title,
        proposal.keys.accept_all,
        proposal.keys.accept_hunk,
        proposal.keys.reject
      ))
      return
    end
    local message = ('%s: edit %s'):format(run.title, edit.status or 'done')
    if edit.reason then
      message = message .. ' (' .. edit.reason .. ')'
    end
    if edit.explanation and edit.explanation ~= '' then
      message = message .. '. ' .. edit.explanation
    end
    notify_line(message, edit.status == 'applied' and vim.log.levels.INFO or vim.log.levels.WARN)
  elseif run.kind == 'review' then
    notify_line(('%s: %d finding(s), shown as diagnostics'):format(run.title, tonumber(result.findings) or 0))
  end
end

--- The prefix of the tokens the server creates for runs started without a
--- `progressToken` (README "Streaming"): `codex-ls/run/<runId>`.
local server_token_prefix = 'codex-ls/run/'

--- Adopts a run the server streams on a token of its own (started without
--- a progressToken, so not by this plugin). The `begin` says what the run
--- makes (`codex.kind`): an answer gets a window like the plugin's own
--- answer runs; an edit or a review shows its step in the command line and
--- ends in one line, since its stream is JSON no one should read. A server
--- that does not say gets a window: an answer is what most such runs make.
---@param client_id integer
---@param token string
---@param value table the `begin` value
---@return codex_ls.Run?
local function adopt(client_id, token, value)
  local client = vim.lsp.get_client_by_id(client_id)
  if not client then
    return nil
  end
  local bufnr = vim.api.nvim_get_current_buf()
  return M.register({
    token = token,
    command = 'codex.run',
    title = type(value.title) == 'string' and value.title or 'Codex',
    kind = protocol.run_kind(value.codex) or 'answer',
    bufnr = bufnr,
    uri = vim.uri_from_bufnr(bufnr),
  }, client)
end

--- The run of a `$/progress` notification, adopting a server-created token
--- when its progress begins.
---@param client_id integer
---@param params { token: any, value: table }
---@return codex_ls.Run?
local function run_of(client_id, params)
  local run = M.runs[params.token]
  if run then
    return run.client_id == client_id and run or nil
  end
  local token = params.token
  if params.value.kind == 'begin' and type(token) == 'string' and vim.startswith(token, server_token_prefix) then
    return adopt(client_id, token, params.value)
  end
  return nil
end

--- Feeds one `$/progress` notification of the codex-ls client to its run.
---@param client_id integer
---@param params { token: any, value: table }
function M.on_progress(client_id, params)
  if type(params) ~= 'table' or type(params.value) ~= 'table' then
    return
  end
  local run = run_of(client_id, params)
  if not run or run.ended_at then
    return
  end
  local value = params.value
  local ext = type(value.codex) == 'table' and value.codex or {}
  if value.kind == 'begin' then
    run.status = 'running'
    run.run_id = run.run_id or ext.runId
    if type(value.title) == 'string' then
      run.title = value.title
    end
    if type(value.message) == 'string' then
      run.selection = value.message
    end
  elseif value.kind == 'report' then
    run.status = 'running'
    run.reports = run.reports + 1
    M.note_thread(run, ext)
    if type(value.message) == 'string' then
      run.step = value.message
    end
    if ext.reset then
      run.resets = run.resets + 1
      run.text = ''
    end
    if type(ext.delta) == 'string' then
      run.text = run.text .. ext.delta
    end
    protocol.fold_updates(run.steps, ext.items)
  elseif value.kind == 'end' then
    protocol.set_final(run.steps, ext.items)
    if type(ext.usage) == 'table' then
      run.usage = ext.usage
    end
    M.finish(run, ext.status or 'completed', ext.error, ext)
    return
  end
  if run.answer then
    run.answer:update(run)
  elseif value.kind == 'report' then
    echo_step(run)
  end
end

--- Ends the runs of a client that left the buffer (stopped or crashed):
--- no `end` report will come for them.
---@param client_id integer
---@param bufnr integer
function M.client_detached(client_id, bufnr)
  for _, run in pairs(M.runs) do
    if run.client_id == client_id and run.bufnr == bufnr and not run.ended_at then
      M.finish(run, 'failed', { code = 'client-detached', message = 'codex-ls detached from the buffer' })
    end
  end
end

local function document(bufnr)
  return { uri = vim.uri_from_bufnr(bufnr) }
end

--- Notes the thread and turn a report names (README "Streaming"), so a
--- follow-up continues that thread and the history does not show the
--- running turn twice.
---@param run codex_ls.Run
---@param ext table the report's `codex` object
function M.note_thread(run, ext)
  if type(ext.threadId) == 'string' then
    run.thread_id = ext.threadId
    if run.answer then
      run.answer.thread_id = ext.threadId
    end
  end
  if type(ext.turnId) == 'string' then
    run.turn_id = ext.turnId
  end
end

--- Where a conversation of `bufnr` lives, for the commands typed in its
--- window.
---@param bufnr integer
---@param client vim.lsp.Client
---@param scope? codex_ls.Scope
---@return codex_ls.ConversationSource
function M.source_of(bufnr, client, scope)
  return { bufnr = bufnr, uri = vim.uri_from_bufnr(bufnr), client_id = client.id, scope = scope }
end

--- Fills a conversation window that was just made with the exchanges Codex
--- kept (`codex.conversation`), so the history is back after a restart. A
--- codex-ls without conversations has none to give: the window then shows
--- this Neovim's runs only.
---@param window codex_ls.AnswerWindow
---@param client vim.lsp.Client
function M.load_history(window, client)
  if not codex_ls.offers(client, 'codex.conversation') then
    return
  end
  local source = window.source
  local argument = { textDocument = { uri = source.uri }, scope = source.scope }
  codex_ls.exec(client, 'codex.conversation', argument, function(err, conversation)
    if not err and type(conversation) == 'table' then
      window:set_history(conversation)
    end
  end, source.bufnr)
end

--- What a follow-up in a busy conversation is told (the server says the
--- same when it refuses a run).
---@param run codex_ls.Run
local function busy_message(run)
  return ('this conversation is busy with "%s": :CodexSteer {prompt} adds to the running turn, '
    .. ':CodexCancel stops it, :CodexAsk! {prompt} asks after it'):format(run.prompt or run.title)
end

--- Ends a run the server refused because its conversation is busy with a
--- run this Neovim does not show there (a rewrite on the same document,
--- say): the question never started, so it leaves no exchange behind, and
--- the user is told what to do in this editor's words (the server's
--- message names `codex.steer`, which is no command here).
---@param run codex_ls.Run
function M.refused_busy(run)
  if run.answer then
    run.answer:drop_run(run)
  end
  local message = ('this conversation is busy with another run: :CodexSteer {prompt} adds to it, '
    .. ':CodexCancel stops it, :CodexAsk! {prompt} asks after it')
  run.answer = nil
  M.finish(run, 'failed', { code = 'busy', message = message })
  notify(message, vim.log.levels.ERROR)
end

--- The running run of the conversation a run on `bufnr` would join.
---@param bufnr integer
---@param scope? codex_ls.Scope
---@return codex_ls.AnswerWindow?, codex_ls.Run?
local function conversation_of(bufnr, scope)
  local window = answer.conversations[answer.key_of(vim.uri_from_bufnr(bufnr), scope)]
  if window and vim.api.nvim_buf_is_valid(window.buf) then
    return window, window:running()
  end
  return nil, nil
end

--- A follow-up typed in a conversation window (`:CodexAsk {prompt}`):
--- `codex.run` on the conversation's document, continuing its thread. A
--- busy conversation refuses at once unless `queue` (`:CodexAsk!`).
---@param window codex_ls.AnswerWindow
---@param prompt string
---@param queue boolean
function M.follow_up(window, prompt, queue)
  local source = window.source
  local client = vim.lsp.get_client_by_id(source.client_id)
  if not client or not vim.api.nvim_buf_is_valid(source.bufnr) then
    notify("this conversation's document is no longer open in codex-ls", vim.log.levels.ERROR)
    return
  end
  local busy = window:running()
  if busy and not queue then
    notify(busy_message(busy), vim.log.levels.ERROR)
    return
  end
  local argument = { textDocument = document(source.bufnr), prompt = prompt, scope = source.scope }
  -- A codex-ls with conversations takes the thread and the wish to queue;
  -- an older one (whose arguments are strict) continues the document's
  -- thread, which is this one, and queues.
  if codex_ls.offers(client, 'codex.conversation') then
    argument.threadId = window.thread_id
    argument.queue = queue or nil
  end
  start(client, {
    command = 'codex.run',
    title = 'Codex: Ask',
    kind = 'answer',
    bufnr = source.bufnr,
    uri = argument.textDocument.uri,
  }, argument)
end

--- `:CodexSteer {prompt}`: adds input to the conversation's running turn
--- (`codex.steer`); the answer starts over with it (a report with `reset`).
---@param window? codex_ls.AnswerWindow
---@param prompt string
function M.steer(window, prompt, bufnr)
  local run = window and window:running() or M.running_on(bufnr)
  if not run then
    notify('no run of this conversation is running; :CodexAsk {prompt} asks a follow-up', vim.log.levels.WARN)
    return
  end
  local client = vim.lsp.get_client_by_id(run.client_id)
  if not client or not run.run_id then
    notify('the run has not started yet; steer it once it has', vim.log.levels.WARN)
    return
  end
  codex_ls.exec(
    client,
    'codex.steer',
    { runId = run.run_id, prompt = prompt },
    reporting('steer', function(steered)
      if type(steered) == 'table' and type(steered.turnId) == 'string' then
        run.turn_id = steered.turnId
      end
      if window then
        window:add_steer(run, prompt)
      end
    end),
    run.bufnr
  )
end

--- The run of this Neovim still going on `bufnr`'s document (any kind: an
--- edit run keeps a conversation busy too, without showing in its window).
---@param bufnr? integer
---@return codex_ls.Run?
function M.running_on(bufnr)
  for _, run in pairs(M.runs) do
    if bufnr and run.bufnr == bufnr and not run.ended_at and run.run_id then
      return run
    end
  end
  return nil
end

--- An earlier conversation as the picker lists it.
---@param conversation codex_ls.ConversationSummary
---@return string
function M.conversation_label(conversation)
  local when = type(conversation.updatedAt) == 'number' and os.date('%Y-%m-%d %H:%M', conversation.updatedAt) or '?'
  local title = type(conversation.title) == 'string' and conversation.title ~= '' and conversation.title
    or conversation.threadId
  return ('%s · %s exchange(s) · %s'):format(title:gsub('\n', ' '), tostring(conversation.turns or '?'), when)
end

--- Binds the document (or workspace) of `source` to an earlier thread
--- (`codex.openConversation`) and shows that conversation, read from Codex
--- (`codex.conversation`), in its window.
---@param source codex_ls.ConversationSource
---@param thread_id string
function M.open_conversation(source, thread_id)
  local client = vim.lsp.get_client_by_id(source.client_id)
  if not client then
    return
  end
  local argument = { threadId = thread_id, textDocument = { uri = source.uri }, scope = source.scope }
  codex_ls.exec(
    client,
    'codex.openConversation',
    argument,
    reporting('open conversation', function(opened)
      local thread = type(opened) == 'table' and opened.threadId or thread_id
      codex_ls.exec(
        client,
        'codex.conversation',
        { threadId = thread },
        reporting('conversation', function(conversation)
          local window = answer.conversation(answer.key_of(source.uri, source.scope), source, M.conversation_actions)
          -- What the window showed was the thread the document was bound to
          -- before: the picked one replaces it.
          window.exchanges = {}
          window.thread_id = thread
          if type(conversation) == 'table' then
            window:set_history(conversation)
          end
          window:show(true)
        end),
        source.bufnr
      )
    end),
    source.bufnr
  )
end

--- `:CodexConversations`: picks an earlier conversation of the workspace
--- (`codex.conversations`, newest first) with `vim.ui.select` and opens it.
---@param source codex_ls.ConversationSource
function M.pick_conversation(source)
  local client = vim.lsp.get_client_by_id(source.client_id)
  if not client then
    return
  end
  codex_ls.exec(
    client,
    'codex.conversations',
    {},
    reporting('conversations', function(result)
      local list = type(result) == 'table' and type(result.conversations) == 'table' and result.conversations or {}
      if #list == 0 then
        notify('no earlier conversation in this workspace')
        return
      end
      vim.ui.select(list, { prompt = 'Codex conversations', format_item = M.conversation_label }, function(choice)
        if choice then
          M.open_conversation(source, choice.threadId)
        end
      end)
    end),
    source.bufnr
  )
end

--- The conversation window of the current buffer: the window itself, or
--- the document's; the user is told when it has no thread yet.
---@return codex_ls.AnswerWindow?
local function current_conversation()
  local window = answer.conversations[vim.b.codex_ls_conversation or '']
    or (conversation_of(vim.api.nvim_get_current_buf()))
  if not window or not window.thread_id then
    notify('no conversation with Codex here yet; :CodexAsk {prompt} starts one', vim.log.levels.WARN)
    return nil
  end
  return window
end

--- `:CodexFork`: a new thread with this conversation's history
--- (`codex.fork`), bound to the document and shown in its window, so the
--- next question goes down the new branch and the old one stays on disk.
function M.fork()
  local window = current_conversation()
  local client = window and vim.lsp.get_client_by_id(window.source.client_id)
  if not window or not client then
    return
  end
  codex_ls.exec(client, 'codex.fork', { threadId = window.thread_id }, reporting('fork', function(forked)
    if type(forked) == 'table' and type(forked.threadId) == 'string' then
      M.open_conversation(window.source, forked.threadId)
    end
  end), window.source.bufnr)
end

--- `:CodexUndo`: drops the conversation's last exchange from Codex's
--- history (`codex.undoLast`), so the next question no longer carries it,
--- and redraws the window from what Codex now keeps (`codex.conversation`).
function M.undo_last()
  local window = current_conversation()
  local client = window and vim.lsp.get_client_by_id(window.source.client_id)
  if not window or not client then
    return
  end
  local thread = window.thread_id
  codex_ls.exec(client, 'codex.undoLast', { threadId = thread }, reporting('undo', function(undone)
    local dropped = type(undone) == 'table' and undone.turnId or nil
    -- This Neovim's own run of that turn is not history any more either.
    window.exchanges = vim.tbl_filter(function(exchange)
      return not (exchange.run and exchange.run.turn_id == dropped)
    end, window.exchanges)
    codex_ls.exec(client, 'codex.conversation', { threadId = thread }, reporting('conversation', function(view)
      if type(view) == 'table' then
        window:set_history(view)
      end
      notify('the last exchange was dropped from the conversation')
    end), window.source.bufnr)
  end), window.source.bufnr)
end

--- What the keys and commands of a conversation window do.
---@type codex_ls.ConversationActions
M.conversation_actions = {
  cancel = function(token)
    M.cancel_token(token)
  end,
  ask = function(window, prompt, queue)
    M.follow_up(window, prompt, queue)
  end,
  steer = function(window, prompt)
    M.steer(window, prompt, window.source.bufnr)
  end,
  pick = function(window)
    M.pick_conversation(window.source)
  end,
}

--- Opens the review of an edit run that ended with a proposal
--- (`edit.status: "proposed"`): a diff view whose keys accept or reject it.
---@param run codex_ls.Run
function M.review_proposal(run)
  local edit = protocol.proposal(run.result)
  local run_id = run.run_id or (run.result and run.result.runId)
  local client = vim.lsp.get_client_by_id(run.client_id)
  if not edit or run.status ~= 'completed' or not run_id or not client or not vim.api.nvim_buf_is_valid(run.bufnr) then
    return
  end
  proposal.open(run_id, edit, { bufnr = run.bufnr, encoding = client.offset_encoding }, {
    apply = function(hunks, done)
      codex_ls.exec(client, 'codex.applyProposal', { runId = run_id, hunks = hunks }, done, run.bufnr)
    end,
    discard = function()
      codex_ls.exec(client, 'codex.discardProposal', { runId = run_id }, reporting('discard'), run.bufnr)
    end,
    notify = function(message, level)
      notify_line(message, level)
    end,
  })
end

--- Cancels one run by its token.
---@param token string
function M.cancel_token(token)
  local run = M.runs[token]
  if not run or run.ended_at then
    return
  end
  local client = vim.lsp.get_client_by_id(run.client_id)
  if not client then
    return
  end
  codex_ls.exec(client, 'codex.cancel', { token = token }, reporting('cancel'), run.bufnr)
end


local function joined(opts)
  local text = opts.args or ''
  return vim.trim(text)
end

--- `:CodexCancel`: in an answer window, cancels its run; elsewhere, every
--- run of the current buffer's document.
function M.cancel()
  local token = vim.b.codex_ls_token
  if token then
    M.cancel_token(token)
    return
  end
  exec_current('codex.cancel', { textDocument = document(0) }, 'cancel', function(result)
    if result and result.cancelled and #result.cancelled == 0 then
      notify('no run of this buffer to cancel')
    end
  end)
end

--- `:CodexStatus`: the server's and the backend's state in a message.
function M.status()
  exec_current('codex.status', nil, 'status', function(result)
    if type(result) ~= 'table' then
      notify('status failed: no answer', vim.log.levels.ERROR)
      return
    end
    notify(table.concat(M.status_lines(result), '\n'))
  end)
end

--- `codex.status`'s answer as lines of text.
---@param status table
---@return string[]
function M.status_lines(status)
  local backend = status.backend or {}
  local function text(value)
    return (value == nil or value == vim.NIL) and '-' or tostring(value)
  end
  local lines = {
    'codex-ls ' .. text(status.serverVersion),
    ('backend: %s, Codex CLI %s (%s), pid %s'):format(
      text(backend.state),
      text(backend.codexVersion),
      text(backend.codexPath),
      text(backend.pid)
    ),
  }
  if backend.lastError ~= nil and backend.lastError ~= vim.NIL then
    table.insert(lines, 'last error: ' .. text(backend.lastError))
  end
  for _, run in ipairs(status.activeRuns or {}) do
    table.insert(lines, ('run %s: %s %s'):format(text(run.runId), text(run.title), text(run.uri)))
  end
  for _, thread in ipairs(status.threads or {}) do
    table.insert(
      lines,
      ('thread %s (%s%s): %s turn(s)'):format(
        text(thread.threadId),
        text(thread.scope),
        thread.uri and (' ' .. text(thread.uri)) or '',
        text(thread.turns)
      )
    )
  end
  return lines
end

--- `:CodexNewThread`: the next run on this document starts a fresh thread.
function M.new_thread()
  exec_current('codex.newThread', { textDocument = document(0) }, 'new thread', function()
    notify('the next run starts a new Codex thread')
  end)
end

--- The argument of a run on the selection (or the whole file without one).
local function on_selection(bufnr, range)
  return { textDocument = document(bufnr), range = range }
end

--- The run commands: name → how to build the server command's argument.
---@type table<string, { command: string, title: string, kind: string, nargs: string|integer, desc: string, argument: fun(bufnr: integer, range: lsp.Range?, opts: table): table? }>
M.run_commands = {
  CodexAsk = {
    command = 'codex.run',
    title = 'Codex: Ask',
    kind = 'answer',
    nargs = '+',
    desc = 'Ask Codex about the selection (or the file)',
    argument = function(bufnr, range, opts)
      return { textDocument = document(bufnr), range = range, prompt = joined(opts) }
    end,
  },
  CodexExplain = {
    command = 'codex.explain',
    title = 'Codex: Explain',
    kind = 'answer',
    nargs = 0,
    desc = 'Explain the selection (or the file)',
    argument = on_selection,
  },
  CodexRewrite = {
    command = 'codex.rewrite',
    title = 'Codex: Rewrite',
    kind = 'edit',
    nargs = '*',
    desc = 'Rewrite the selection (or the line), with an optional instruction',
    argument = function(bufnr, range, opts)
      local instruction = joined(opts)
      local argument = { textDocument = document(bufnr), range = range or current_line_range() }
      if instruction == '' then
        argument.preset = 'improve'
      else
        argument.instruction = instruction
      end
      return argument
    end,
  },
  CodexFix = {
    command = 'codex.fix',
    title = 'Codex: Fix',
    kind = 'edit',
    nargs = 0,
    desc = 'Fix the diagnostics in the selection (or on the line)',
    argument = function(bufnr, range)
      range = range or current_line_range()
      return { textDocument = document(bufnr), range = range, diagnostics = M.diagnostics_in(bufnr, range) }
    end,
  },
  CodexReview = {
    command = 'codex.review',
    title = 'Codex: Review',
    kind = 'review',
    nargs = 0,
    desc = 'Review the selection (or the file); findings become diagnostics',
    argument = on_selection,
  },
}

--- Registers a run and sends its server command with the run's
--- progressToken; a command the server refuses ends the run.
---@param client vim.lsp.Client
---@param spec codex_ls.RunSpec
---@param argument table the command's argument object
---@return codex_ls.Run
function start(client, spec, argument)
  spec.prompt = spec.prompt or argument.prompt
  spec.scope = spec.scope or argument.scope
  local run = M.register(spec, client)
  argument.progressToken = run.token
  codex_ls.exec(client, spec.command, argument, function(err, result)
    if protocol.busy(err) then
      M.refused_busy(run)
    elseif err then
      M.finish(run, 'failed', { code = 'rpc-error', message = err.message or tostring(err) })
    elseif type(result) == 'table' and result.runId and run.run_id == nil then
      run.run_id = result.runId
    end
  end, spec.bufnr)
  return run
end

--- The kind of run a server command starts, from its argument: what the
--- plugin shows while it runs (a window for answers, a message for edits
--- and reviews).
---@param command string
---@param argument table
---@param client vim.lsp.Client
---@return 'answer'|'edit'|'review'
function M.kind_of(command, argument, client)
  if command == 'codex.rewrite' or command == 'codex.fix' then
    return 'edit'
  elseif command == 'codex.review' then
    return 'review'
  elseif command == 'codex.tests' then
    return argument.mode == 'edit' and 'edit' or 'answer'
  elseif command == 'codex.action' then
    -- Configured actions carry their mode in the settings the server got.
    local settings = client.settings and client.settings.codex or {}
    for _, action in ipairs(type(settings.actions) == 'table' and settings.actions or {}) do
      if action.title == argument.title and (action.mode == 'edit' or action.mode == 'review') then
        return action.mode
      end
    end
  end
  return 'answer'
end

--- The server's run commands that the client runs itself when a code action
--- (or "Codex: Retry") names them, so they stream like `:Codex*` commands.
M.code_action_commands = {
  ['codex.run'] = 'Codex: Ask',
  ['codex.explain'] = 'Codex: Explain',
  ['codex.rewrite'] = 'Codex: Rewrite',
  ['codex.fix'] = 'Codex: Fix',
  ['codex.tests'] = 'Codex: Write tests',
  ['codex.review'] = 'Codex: Review',
  ['codex.action'] = 'Codex',
}

--- The client-side handler of a run command chosen in
--- `vim.lsp.buf.code_action()`: Neovim would send it as is, without a
--- progressToken, and the answer would only come at the end, as a file.
--- Sent with a token of the plugin's own instead, it streams into an
--- answer window (or, for edits and reviews, the command line).
---@param command lsp.Command
---@param ctx { bufnr: integer, client_id: integer }
---@return codex_ls.Run?
function M.exec_command(command, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  local argument = type(command.arguments) == 'table' and command.arguments[1]
  if not client or type(argument) ~= 'table' then
    return nil
  end
  argument = vim.deepcopy(argument)
  local bufnr = ctx.bufnr
  local uri = type(argument.textDocument) == 'table' and argument.textDocument.uri or vim.uri_from_bufnr(bufnr)
  return start(client, {
    command = command.command,
    title = M.code_action_commands[command.command] or command.title or 'Codex',
    kind = M.kind_of(command.command, argument, client),
    bufnr = bufnr,
    uri = uri,
  }, argument)
end

--- Starts the run command `name` from a user command's arguments: registers
--- the run, then sends the server's command with the run's progressToken.
---@param name string e.g. `CodexExplain`
---@param opts table the user command's arguments
---@return codex_ls.Run?
function M.run(name, opts)
  local spec = M.run_commands[name]
  local bufnr, client = attached()
  if not client then
    return nil
  end
  opts = opts or {}
  local range = M.selection_range(bufnr, opts, client.offset_encoding)
  local argument = spec.argument(bufnr, range, opts)
  if opts.bang and spec.kind == 'edit' then
    -- `:CodexRewrite!`: a proposal to review before anything lands.
    argument.preview = true
  elseif spec.command == 'codex.run' then
    local _, busy = conversation_of(bufnr, argument.scope)
    if busy and not opts.bang then
      notify(busy_message(busy), vim.log.levels.ERROR)
      return nil
    end
    if opts.bang and codex_ls.offers(client, 'codex.conversation') then
      argument.queue = true
    end
  end
  return start(client, {
    command = spec.command,
    title = spec.title,
    kind = spec.kind,
    bufnr = bufnr,
    uri = argument.textDocument.uri,
  }, argument)
end

--- `:CodexConversation`: shows the current document's conversation, read
--- from Codex when its window is new (after a restart, say).
function M.show_conversation()
  local bufnr, client = attached()
  if not client then
    return
  end
  local source = M.source_of(bufnr, client)
  local window, made = answer.conversation(answer.key_of(source.uri), source, M.conversation_actions)
  if made then
    M.load_history(window, client)
  end
  window:show(true)
end

--- The buffer-local commands besides the run commands.
local other_commands = {
  CodexConversation = { fn = M.show_conversation, desc = "Show this document's Codex conversation" },
  CodexConversations = {
    fn = function()
      local bufnr, client = attached()
      if client then
        M.pick_conversation(M.source_of(bufnr, client))
      end
    end,
    desc = 'Pick an earlier Codex conversation for this document',
  },
  CodexSteer = {
    fn = function(opts)
      local bufnr = vim.api.nvim_get_current_buf()
      M.steer((conversation_of(bufnr)), vim.trim(opts.args), bufnr)
    end,
    nargs = '+',
    desc = 'Add input to the running Codex turn of this document',
  },
  CodexFork = { fn = M.fork, desc = "Fork this document's Codex conversation and continue the copy" },
  CodexUndo = { fn = M.undo_last, desc = "Drop the last exchange of this document's Codex conversation" },
  CodexCancel = { fn = M.cancel, desc = 'Cancel the Codex runs of this buffer' },
  CodexNewThread = { fn = M.new_thread, desc = 'Start a new Codex thread for this buffer' },
  CodexStatus = { fn = M.status, desc = 'Show codex-ls status' },
}

--- Creates the buffer-local commands in a buffer codex-ls attached to.
---@param bufnr integer
function M.attach(bufnr)
  for name, spec in pairs(M.run_commands) do
    vim.api.nvim_buf_create_user_command(bufnr, name, function(opts)
      M.run(name, opts)
    end, { range = true, bang = true, nargs = spec.nargs, desc = spec.desc })
  end
  for name, command in pairs(other_commands) do
    vim.api.nvim_buf_create_user_command(bufnr, name, command.fn, { nargs = command.nargs or 0, desc = command.desc })
  end
end

--- Removes the buffer-local commands when the last codex-ls client detaches.
---@param bufnr integer
function M.detach(bufnr)
  for _, commands in ipairs({ M.run_commands, other_commands }) do
    for name in pairs(commands) do
      pcall(vim.api.nvim_buf_del_user_command, bufnr, name)
    end
  end
end

return M
