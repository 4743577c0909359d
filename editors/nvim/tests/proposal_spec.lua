-- Edit proposals (README "Edit runs", `edit.status: "proposed"`), fed as
-- codex-ls reports them through Neovim's own $/progress handler: the diff
-- view of the selected text and the replacement, keys typed before it
-- opened (or in its first moments) accept nothing, `a` accepts the hunk
-- under the cursor, `A` all, `r` and closing the view reject. The spec
-- answers `codex.applyProposal` / `codex.discardProposal` as the README
-- says and records the calls; `proposal_review_spec.lua` drives the real
-- server.
local H = require('harness')
local codex_ls = require('codex_ls')
local commands = require('codex_ls.commands')
local protocol = require('codex_ls.protocol')
local proposal = require('codex_ls.proposal')

--- Lines 2-4 of src/lib.rs (0-based 1..3) and Codex's replacement: a doc
--- comment inserted (hunk 0), the sum changed (hunk 1).
local function proposed_edit()
  return {
    status = 'proposed',
    replacement = '/// Adds two numbers.\nfn add(a: i32, b: i32) -> i32 {\n    a.wrapping_add(b)\n}\n',
    explanation = 'Documents add and makes it wrap.',
    range = { start = { line = 1, character = 0 }, ['end'] = { line = 4, character = 0 } },
    version = 0,
    hunks = {
      {
        index = 0,
        range = { start = { line = 1, character = 0 }, ['end'] = { line = 1, character = 0 } },
        oldText = '',
        newText = '/// Adds two numbers.\n',
      },
      {
        index = 1,
        range = { start = { line = 2, character = 0 }, ['end'] = { line = 3, character = 0 } },
        oldText = '    a + b\n',
        newText = '    a.wrapping_add(b)\n',
      },
    },
  }
end

H.test('hunks are found on either side of the diff', function()
  local spans = protocol.hunk_spans(proposed_edit())
  H.eq({
    { index = 0, old_start = 1, old_count = 0, new_start = 1, new_count = 1 },
    { index = 1, old_start = 2, old_count = 1, new_start = 3, new_count = 1 },
  }, spans, 'spans')
  H.eq(0, protocol.hunk_at(spans, 'new', 1), 'the inserted comment')
  H.eq(nil, protocol.hunk_at(spans, 'new', 2), 'an unchanged line')
  H.eq(1, protocol.hunk_at(spans, 'new', 3), 'the changed sum, proposed side')
  H.eq(1, protocol.hunk_at(spans, 'old', 2), 'the changed sum, current side')
  H.eq(nil, protocol.hunk_at(spans, 'old', 3), 'the closing brace')
  H.eq(2, protocol.line_count('a\nb\n'), 'line hunk text')
  H.eq(0, protocol.line_count(''), 'empty')
  H.eq(nil, protocol.proposal({ edit = { status = 'applied', replacement = 'x' } }), 'an applied edit is no proposal')
end)

--- Answers the proposal commands as the contract says, recording calls.
---@param apply fun(argument: table): (table?, table?)
local function stub(apply)
  local real_exec, real_offers = codex_ls.exec, codex_ls.offers
  local calls = {}
  local answers = {
    ['codex.applyProposal'] = apply,
    ['codex.discardProposal'] = function()
      return nil, { discarded = true }
    end,
  }
  codex_ls.offers = function(client, command)
    return answers[command] ~= nil or real_offers(client, command)
  end
  codex_ls.exec = function(client, command, argument, handler, bufnr)
    if not answers[command] then
      return real_exec(client, command, argument, handler, bufnr)
    end
    calls[#calls + 1] = { command = command, argument = vim.deepcopy(argument) }
    local err, result = answers[command](argument)
    vim.schedule(function()
      handler(err, result)
    end)
  end
  return calls, function()
    codex_ls.exec, codex_ls.offers = real_exec, real_offers
  end
end

--- An edit run of the plugin's own that ends with `edit` as codex-ls
--- sends it; keys given in `typed_before` are in the typeahead when the end
--- arrives. Returns the view that opened.
local function propose(bufnr, run_id, edit, typed_before)
  local client = codex_ls.client(bufnr)
  local run = commands.register({
    command = 'codex.rewrite',
    title = 'Codex: Rewrite',
    kind = 'edit',
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
  progress({
    kind = 'begin',
    title = 'Codex: Rewrite',
    message = 'lines 2-4',
    codex = { runId = run_id, kind = 'edit' },
  })
  if typed_before then
    H.type(typed_before)
  end
  progress({
    kind = 'end',
    message = 'Edit proposed.',
    codex = { runId = run_id, status = 'completed', edit = edit },
  })
  return H.truthy(proposal.views[run_id], 'a diff view for run ' .. run_id)
end

local function wait_armed(view)
  H.wait('the view to take keys', function()
    return view:armed()
  end)
end

local function lines(buf)
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

H.test('a proposal opens a diff view that typeahead cannot accept; `a` accepts the hunk under the cursor', function()
  local bufnr = H.open('src/lib.rs')
  local source_tab = vim.api.nvim_get_current_tabpage()
  local original = H.text(bufnr)
  local calls, undo = stub(function()
    return nil, { applied = true }
  end)
  local ok, err = pcall(function()
    -- `A` (accept all) queued as the run ends: dropped, not taken.
    local view = propose(bufnr, 5001, proposed_edit(), 'A')
    H.truthy(vim.api.nvim_get_current_tabpage() ~= source_tab, 'the view opens in a tab of its own')
    local wins = vim.api.nvim_tabpage_list_wins(0)
    H.eq(2, #wins, 'two sides')
    for _, win in ipairs(wins) do
      H.truthy(vim.wo[win].diff, 'diff mode in window ' .. win)
    end
    H.eq({ 'fn add(a: i32, b: i32) -> i32 {', '    a + b', '}' }, lines(view.current), 'the selected text')
    H.eq(
      { '/// Adds two numbers.', 'fn add(a: i32, b: i32) -> i32 {', '    a.wrapping_add(b)', '}' },
      lines(view.proposed),
      'the replacement'
    )
    H.eq('rust', vim.bo[view.proposed].filetype, "the document's filetype")
    -- A key in the first moments is ignored too.
    H.type('A')
    H.wait('the early key to be ignored', function()
      return view.ignored >= 1
    end)
    H.eq(0, #calls, 'nothing accepted by early keys')

    wait_armed(view)
    -- The cursor on the changed sum in the proposed side.
    local right = vim.fn.bufwinid(view.proposed)
    vim.api.nvim_set_current_win(right)
    vim.api.nvim_win_set_cursor(right, { 3, 0 })
    H.type('a')
    H.wait('the view to close once applied', function()
      return proposal.views[5001] == nil and not vim.api.nvim_buf_is_valid(view.proposed)
    end)
    local accepted = { command = 'codex.applyProposal', argument = { runId = 5001, hunks = { 1 } } }
    H.eq({ accepted }, calls, 'one hunk accepted')
    H.eq(source_tab, vim.api.nvim_get_current_tabpage(), 'back in the source tab')
    H.eq(original, H.text(bufnr), 'the plugin itself changed nothing (the server applies)')
  end)
  undo()
  assert(ok, err)
end)

H.test('`A` refused because the selection changed keeps the view; `r` rejects', function()
  local bufnr = H.open('src/lib.rs')
  local calls, undo = stub(function()
    -- RequestFailed, as codex-ls refuses it.
    return { code = -32803, message = 'the selected text changed since the proposal; nothing applied' }, nil
  end)
  local messages = {}
  local notify = vim.notify
  vim.notify = function(message)
    messages[#messages + 1] = message
  end
  local ok, err = pcall(function()
    local view = propose(bufnr, 5002, proposed_edit())
    wait_armed(view)
    H.type('A')
    H.wait('the refusal to be told', function()
      for _, message in ipairs(messages) do
        if message:find('selected text changed', 1, true) then
          return true
        end
      end
    end)
    H.eq({ command = 'codex.applyProposal', argument = { runId = 5002 } }, calls[1], 'all accepted')
    H.truthy(proposal.views[5002] and vim.api.nvim_buf_is_valid(view.proposed), 'the view stays')
    H.type('r')
    H.wait('the view to close', function()
      return proposal.views[5002] == nil and not vim.api.nvim_buf_is_valid(view.current)
    end)
    H.eq({ command = 'codex.discardProposal', argument = { runId = 5002 } }, calls[2], 'rejected')
    H.eq(2, #calls, 'nothing else sent')
  end)
  vim.notify = notify
  undo()
  assert(ok, err)
end)

H.test('closing the view any other way rejects the proposal', function()
  local bufnr = H.open('src/lib.rs')
  local calls, undo = stub(function()
    return nil, { applied = true }
  end)
  local ok, err = pcall(function()
    local view = propose(bufnr, 5003, proposed_edit())
    vim.cmd('tabclose')
    H.wait('the discard', function()
      return calls[1]
    end)
    H.eq({ { command = 'codex.discardProposal', argument = { runId = 5003 } } }, calls, 'discarded, nothing applied')
    H.eq(nil, proposal.views[5003], 'view gone')
    H.truthy(not vim.api.nvim_buf_is_valid(view.proposed), 'buffers gone')
  end)
  undo()
  assert(ok, err)
end)

H.test('`:CodexRewrite!` asks for a proposal (`preview: true`); without `!` it does not', function()
  H.open('src/lib.rs')
  local calls, undo = stub(function()
    return nil, { applied = true }
  end)
  local real_exec = codex_ls.exec
  local sent = {}
  codex_ls.exec = function(client, command, argument, handler, bufnr)
    if command ~= 'codex.rewrite' then
      return real_exec(client, command, argument, handler, bufnr)
    end
    sent[#sent + 1] = vim.deepcopy(argument)
    vim.schedule(function()
      handler({ code = -32603, message = 'recorded by the spec' }, nil)
    end)
  end
  local ok, err = pcall(function()
    H.select_lines(2, 4)
    H.type(':CodexRewrite! wrap<CR>')
    H.wait('the rewrite to be sent', function()
      return sent[1]
    end)
    H.eq(true, sent[1].preview, 'preview asked')
    H.eq('wrap', sent[1].instruction, 'instruction')
    H.type(':CodexRewrite wrap<CR>')
    H.wait('the second rewrite to be sent', function()
      return sent[2]
    end)
    H.eq(nil, sent[2].preview, 'no preview without !')
    H.eq(0, #calls, 'no proposal command')
  end)
  codex_ls.exec = real_exec
  undo()
  assert(ok, err)
end)
