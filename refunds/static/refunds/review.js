// Denial template picker: choosing a template fills the explanation and guidance fields,
// which stay editable. Without JavaScript the first template's text is already filled in.
document.addEventListener("change", (event) => {
  const picker = event.target.closest("select[data-template-picker]");
  if (!picker) return;
  const option = picker.selectedOptions[0];
  const explanation = document.getElementById(picker.dataset.explanation);
  const guidance = document.getElementById(picker.dataset.guidance);
  if (explanation) explanation.value = option.dataset.explanation;
  if (guidance) guidance.value = option.dataset.guidance;
});

// Only one decision panel open at a time.
document.addEventListener("toggle", (event) => {
  const panel = event.target;
  if (!panel.matches || !panel.matches("details.rq-pop") || !panel.open) return;
  document.querySelectorAll("details.rq-pop[open]").forEach((other) => {
    if (other !== panel) other.open = false;
  });
}, true);
