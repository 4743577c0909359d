--- Approvals: codex-ls asks with `window/showMessageRequest` when Codex wants
--- to run a command or change files. The codex-ls client answers with
--- `vim.ui.select`, the whole request (command and cwd, or the file list,
--- and the reason) in the prompt. Closing the select without a choice
--- answers `null`, which the server takes as a decline; so does no answer
--- within the server's `approvalTimeoutSecs`.
local M = {}

--- Is this request an approval (and not some other question)?
---@param message string
---@return boolean
function M.is_approval(message)
  return message:find('^Codex wants to') ~= nil
end

--- The `vim.ui.select` options for a request.
---@param params lsp.ShowMessageRequestParams
---@return table
function M.select_options(params)
  local message = params.message or ''
  return {
    prompt = message,
    kind = M.is_approval(message) and 'codex_ls.approval' or 'lsp_message',
    format_item = function(action)
      return action.title
    end,
  }
end

--- The handler for `window/showMessageRequest` of the codex-ls client.
---
--- Neovim runs server requests in a coroutine, so the answer can wait for
--- an asynchronous `vim.ui.select` (Telescope, fzf-lua, snacks, ...).
--- Outside a coroutine, a select that answers at once is honoured and one
--- that would answer later is declined.
---@param _ lsp.ResponseError?
---@param params lsp.ShowMessageRequestParams
---@return lsp.MessageActionItem|vim.NIL
function M.show_message_request(_, params)
  local actions = params and params.actions or {}
  if #actions == 0 then
    vim.notify(params and params.message or '', vim.log.levels.WARN, { title = 'codex-ls' })
    return vim.NIL
  end
  local opts = M.select_options(params)
  local co, is_main = coroutine.running()
  if co and not is_main then
    local answered = false
    vim.ui.select(actions, opts, function(choice)
      if answered then
        return
      end
      answered = true
      -- Resume after the yield below, even when the select answered at once.
      vim.schedule(function()
        coroutine.resume(co, choice or vim.NIL)
      end)
    end)
    return coroutine.yield()
  end
  local answer = vim.NIL
  vim.ui.select(actions, opts, function(choice)
    answer = choice or vim.NIL
  end)
  return answer
end

return M
