// The report form: when the chosen reason changes, show the contact-effort assessment
// or the note that effort does not apply (duplicates and spam). The server computed both.
(function () {
  "use strict";

  var form = document.getElementById("report-form");
  if (!form) {
    return;
  }
  // A refused submission: its summary of what to fix takes the focus (and the screen).
  var errors = document.getElementById("form-errors");
  if (errors) {
    errors.focus();
  }
  var moot = form.querySelector('[data-effort="moot"]');
  var assessed = form.querySelector('[data-effort="assessed"]');

  function update() {
    var chosen = form.querySelector('input[name="reason"]:checked');
    var matters = !chosen || chosen.getAttribute("data-effort-matters") === "true";
    assessed.hidden = !matters;
    moot.hidden = matters;
  }

  form.querySelectorAll('input[name="reason"]').forEach(function (input) {
    input.addEventListener("change", update);
  });
  update();

  // One click is enough: the server shows the existing request on a second submit anyway.
  form.addEventListener("submit", function () {
    var button = form.querySelector('button[type="submit"]');
    window.setTimeout(function () {
      button.disabled = true;
    }, 0);
  });
})();
