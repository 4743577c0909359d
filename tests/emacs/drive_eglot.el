;;; drive_eglot.el --- drives eglot in `emacs --batch' against codex-ls  -*- lexical-binding: t -*-

;; Run by tests/emacs.rs: loads the README's eglot snippet (the file in
;; CODEX_LS_SNIPPET, extracted verbatim), opens src/calc.py of the workspace
;; in CODEX_LS_WORKSPACE, connects eglot to codex-ls as the snippet says,
;; then runs the snippet's commands as a user would: Explain on a region
;; (the answer file's path must be shown and the file must hold the answer
;; in CODEX_LS_ANSWER), Improve on a region (the buffer must get
;; CODEX_LS_REPLACEMENT) and Cancel. Prints PASS or FAIL: <why> and exits.

(require 'seq)

(defvar codex-test-messages nil "Every message shown, newest first.")

(advice-add 'message :around
            (lambda (orig format-string &rest args)
              (when format-string
                (push (apply #'format-message format-string args) codex-test-messages))
              (apply orig format-string args)))

(defun codex-test-fail (format-string &rest args)
  (princ (format "FAIL: %s\nmessages (newest first): %S\n"
                 (apply #'format format-string args) codex-test-messages))
  (kill-emacs 1))

(defun codex-test-wait (what predicate seconds)
  "Wait up to SECONDS for PREDICATE to return non-nil, reading server output."
  (let ((deadline (+ (float-time) seconds)) (result nil))
    (while (and (not (setq result (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.1))
    (or result (codex-test-fail "timed out waiting for %s" what))))

(defun codex-test-select-lines (first last)
  "Make lines FIRST to LAST (1-based, inclusive) the active region."
  (transient-mark-mode 1)
  (goto-char (point-min))
  (forward-line (1- first))
  (push-mark (point) t t)
  (forward-line (1+ (- last first)))
  (activate-mark))

(condition-case err
    (progn
      (load (getenv "CODEX_LS_SNIPPET") nil t)
      ;; A user confirms the server's edit; batch Emacs has nobody to ask.
      (setq eglot-confirm-server-initiated-edits nil)
      (find-file (expand-file-name "src/calc.py" (getenv "CODEX_LS_WORKSPACE")))
      (unless (eq major-mode 'python-mode)
        (codex-test-fail "calc.py opened in %s" major-mode))
      (apply #'eglot (eglot--guess-contact))
      (codex-test-wait "eglot to connect" #'eglot-current-server 60)

      ;; Explain: the path of the answer file is shown, and it holds the answer.
      (codex-test-select-lines 1 2)
      (codex-ls-explain)
      (let* ((shown (codex-test-wait
                     "the message naming the answer file"
                     (lambda () (seq-find (lambda (m) (string-match-p "the whole answer is in " m))
                                          codex-test-messages))
                     120))
             (path (and (string-match "the whole answer is in \\([^\n]+\\)" shown)
                        (match-string 1 shown))))
        (unless (and path (file-exists-p path))
          (codex-test-fail "no answer file named in %S" shown))
        (with-temp-buffer
          (insert-file-contents path)
          (unless (search-forward (getenv "CODEX_LS_ANSWER") nil t)
            (codex-test-fail "the answer file %s does not hold the answer:\n%s"
                             path (buffer-string))))
        (princ (format "answer file: %s\n" path)))

      ;; Improve: the edit lands in the buffer.
      (codex-test-select-lines 4 5)
      (codex-ls-improve)
      (let ((replacement (getenv "CODEX_LS_REPLACEMENT")))
        (codex-test-wait "the edit in the buffer"
                         (lambda () (string-search replacement (buffer-string)))
                         120))
      (deactivate-mark)

      ;; Cancel: accepted for this buffer (no run is left to cancel).
      (let ((answer (codex-ls-cancel)))
        (unless (plist-member answer :cancelled)
          (codex-test-fail "codex.cancel answered %S" answer)))
      (princ "PASS\n")
      (kill-emacs 0))
  (error (codex-test-fail "%S" err)))
