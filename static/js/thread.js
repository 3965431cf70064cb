// The lead thread: start at the newest message, grow the composer with its text,
// reopen the call form when the server sent it back with errors, confirm withdrawals.
(function () {
  "use strict";

  var body = document.getElementById("thread-body");
  if (body) {
    body.scrollTop = body.scrollHeight;
  }

  var input = document.querySelector(".composer-input");
  if (input) {
    var grow = function () {
      input.style.height = "auto";
      input.style.height = input.scrollHeight + 2 + "px";
    };
    input.addEventListener("input", grow);
    // Enter sends, Shift+Enter adds a line, as in other chat products.
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (input.value.trim()) {
          input.form.requestSubmit();
        }
      }
    });
  }

  var modal = document.querySelector("[data-show-on-load]");
  if (modal && window.bootstrap) {
    window.bootstrap.Modal.getOrCreateInstance(modal).show();
  }

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });
})();
