// Denial template picker: choosing a template fills the explanation and guidance fields,
// which stay editable. Text the reviewer typed is never replaced without asking. Without
// JavaScript the first template's text is already filled in.
const filledBy = new WeakMap(); // field -> the text the last template put there

// This file loads in the page's head: what looks at the page waits for it.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("select[data-template-picker]").forEach((picker) => {
    picker.dataset.previous = picker.value;
  });
  // The Undo bar goes once its window has passed (the server refuses a late Undo anyway).
  document.querySelectorAll(".rq-undo[data-until]").forEach((bar) => {
    const left = Date.parse(bar.dataset.until) - Date.now();
    if (left <= 0) bar.remove();
    else window.setTimeout(() => bar.remove(), left);
  });
});

document.addEventListener("focusin", (event) => {
  const picker = event.target.closest && event.target.closest("select[data-template-picker]");
  if (picker) picker.dataset.previous = picker.value;
});

document.addEventListener("change", (event) => {
  const picker = event.target.closest("select[data-template-picker]");
  if (!picker) return;
  const option = picker.selectedOptions[0];
  if (!option || option.value === "") return;
  const fields = [
    [document.getElementById(picker.dataset.explanation), option.dataset.explanation],
    [document.getElementById(picker.dataset.guidance), option.dataset.guidance],
  ].filter(([field]) => field);
  const edited = fields.some(([field]) => {
    const before = filledBy.has(field) ? filledBy.get(field) : field.defaultValue;
    return field.value.trim() !== "" && field.value !== before;
  });
  if (edited && !window.confirm("Replace the text you typed with this template?")) {
    if (picker.dataset.previous !== undefined) picker.value = picker.dataset.previous;
    return;
  }
  for (const [field, text] of fields) {
    field.value = text;
    filledBy.set(field, text);
  }
  picker.dataset.previous = picker.value;
});

// Only one decision panel open at a time.
document.addEventListener("toggle", (event) => {
  const panel = event.target;
  if (!panel.matches || !panel.matches("details.rq-pop") || !panel.open) return;
  document.querySelectorAll("details.rq-pop[open]").forEach((other) => {
    if (other !== panel) other.open = false;
  });
}, true);

// Keyboard shortcuts: an element with data-key="x" is pressed by the key x (a approve, d deny,
// c claim or release, u undo, j/k next and previous, s start reviewing); ? shows the list.
// Inert while typing in a field; Ctrl+Enter sends the open decision panel's form.
function typing(element) {
  return element && (element.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName));
}

function toggleShortcuts(show) {
  const panel = document.getElementById("rq-keys");
  const toggle = document.getElementById("rq-keys-toggle");
  if (!panel) return;
  panel.hidden = show === undefined ? !panel.hidden : !show;
  if (toggle) toggle.setAttribute("aria-expanded", String(!panel.hidden));
}

document.addEventListener("click", (event) => {
  if (event.target.closest && event.target.closest("#rq-keys-toggle")) toggleShortcuts();
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    const form = event.target.closest && event.target.closest("form.rq-pop__panel");
    if (form) {
      event.preventDefault();
      form.requestSubmit();
    }
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  if (event.key === "?") {
    event.preventDefault();
    toggleShortcuts();
    return;
  }
  if (event.key === "Escape") {
    toggleShortcuts(false);
    document.querySelectorAll("details.rq-pop[open]").forEach((panel) => { panel.open = false; });
    return;
  }
  if (event.key.length !== 1) return;
  const target = document.querySelector(`[data-key="${CSS.escape(event.key)}"]`);
  if (!target) return;
  event.preventDefault();
  if (target.tagName === "SUMMARY") {
    const panel = target.parentElement;
    panel.open = true;
    // The explanation first: the template picker above it is there if wanted.
    const field = panel.querySelector("textarea") || panel.querySelector("input:not([type=hidden]), select");
    if (field) field.focus();
  } else if (target.tagName === "A") {
    window.location.assign(target.href);
  } else {
    target.click();
  }
});
