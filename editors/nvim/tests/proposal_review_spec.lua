-- Edit proposals against the real codex-ls (README "Edit proposals"): a
-- `:CodexRewrite!` whose replacement changes two separate lines opens the
-- diff view; `a` on one hunk lands only that hunk in the buffer, as one
-- undo step, and the proposal is gone on the server; another proposal
-- rejected with `r` leaves the buffer as it was and is dropped by the
-- server. The commands go to the real server: the spec only watches their
-- answers.
local H = require('harness')
local data = H.data()
local codex_ls = require('codex_ls')
local proposal = require('codex_ls.proposal')

--- Records the answers of the proposal commands the plugin sends, passing
--- every command on to the real server. Returns the answers and an undo.
local function watch_answers()
  local real_exec = codex_ls.exec
  local answers = {}
  codex_ls.exec = function(client, command, argument, handler, bufnr)
    real_exec(client, command, argument, function(err, result)
      if command == 'codex.applyProposal' or command == 'codex.discardProposal' then
        answers[#answers + 1] = { command = command, argument = vim.deepcopy(argument), err = err, result = result }
      end
      handler(err, result)
    end, bufnr)
  end
  return answers, function()
    codex_ls.exec = real_exec
  end
end

--- Sends `codex.applyProposal { runId }` itself and returns the answer.
local function apply_again(bufnr, run_id)
  local answered
  codex_ls.exec(codex_ls.client(bufnr), 'codex.applyProposal', { runId = run_id }, function(err, result)
    answered = { err = err, result = result }
  end, bufnr)
  return H.wait('the answer to applyProposal', function()
    return answered
  end)
end

--- `:CodexRewrite!` on lines 1-4, and the diff view its proposal opens.
local function propose(instruction)
  local before = vim.tbl_keys(proposal.views)
  H.select_lines(1, 4)
  H.type(':CodexRewrite! ' .. instruction .. '<CR>')
  return H.wait('the diff view of the proposal', function()
    for run_id, view in pairs(proposal.views) do
      if not vim.list_contains(before, run_id) then
        return view
      end
    end
  end, 60000)
end

local function wait_armed(view)
  H.wait('the view to take keys', function()
    return view:armed()
  end)
end

local function lines(buf)
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

local function closed(view)
  return proposal.views[view.run_id] == nil
    and not vim.api.nvim_buf_is_valid(view.current)
    and not vim.api.nvim_buf_is_valid(view.proposed)
end

H.test('`a` on one hunk of a proposal lands that hunk only, as one undo step', function()
  local bufnr = H.open('src/lib.rs')
  local original = H.text(bufnr)
  local answers, undo = watch_answers()
  local ok, err = pcall(function()
    local view = propose(data.instruction)
    H.eq(2, #view.edit.hunks, 'two separate hunks: ' .. vim.inspect(view.edit.hunks))
    H.eq(vim.list_slice(vim.split(original, '\n'), 1, 4), lines(view.current), 'the selected text')
    H.eq(data.replacement_lines, lines(view.proposed), 'the replacement')
    wait_armed(view)
    local right = vim.fn.bufwinid(view.proposed)
    vim.api.nvim_set_current_win(right)
    vim.api.nvim_win_set_cursor(right, { data.second_hunk_line, 0 })
    H.type('a')
    H.wait('the hunk to land in the buffer', function()
      return H.text(bufnr) == data.after_second_hunk
    end)
    H.wait('the view to close', function()
      return closed(view)
    end)
    H.eq('codex.applyProposal', answers[1].command, 'applied through the server')
    H.eq({ 1 }, answers[1].argument.hunks, 'only the hunk under the cursor')
    H.eq(true, answers[1].result.applied, 'applied: ' .. vim.inspect(answers[1]))
    H.eq({ 1 }, answers[1].result.hunks, 'the server says which hunks')
    local again = apply_again(bufnr, view.run_id)
    H.truthy(again.err and again.err.message:find('applied', 1, true), 'the proposal is gone: ' .. vim.inspect(again))
    vim.api.nvim_buf_call(bufnr, function()
      vim.cmd('silent undo')
    end)
    H.eq(original, H.text(bufnr), 'one undo step takes the hunk back')
  end)
  undo()
  assert(ok, err)
end)

H.test('a proposal rejected with `r` leaves the buffer unchanged and is dropped', function()
  local bufnr = H.open('src/lib.rs')
  local original = H.text(bufnr)
  local changedtick = vim.b[bufnr].changedtick
  local answers, undo = watch_answers()
  local ok, err = pcall(function()
    local view = propose(data.instruction)
    H.eq(2, #view.edit.hunks, 'two hunks')
    wait_armed(view)
    H.type('r')
    H.wait('the view to close', function()
      return closed(view)
    end)
    local discarded = H.wait('the server to drop the proposal', function()
      return answers[1]
    end)
    H.eq('codex.discardProposal', discarded.command, 'rejected through the server')
    H.eq({ discarded = true }, discarded.result, 'the server had it and dropped it')
    H.eq(1, #answers, 'nothing applied')
    H.eq(original, H.text(bufnr), 'the buffer is unchanged')
    H.eq(changedtick, vim.b[bufnr].changedtick, 'not even touched')
    local again = apply_again(bufnr, view.run_id)
    H.truthy(again.err and again.err.message:find('discarded', 1, true), 'gone: ' .. vim.inspect(again))
  end)
  undo()
  assert(ok, err)
end)
