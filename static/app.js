// Small progressive enhancements; every page works without them.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  navigator.clipboard.writeText(field.value).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});

document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// The assessment timer: shows the time left and submits when it runs out. The server
// enforces the limit whatever this does.
window.addEventListener("DOMContentLoaded", () => {
  const timer = document.querySelector("[data-ends-at]");
  if (!timer) return;
  const endsAt = Date.parse(timer.dataset.endsAt);
  const output = timer.querySelector("output");
  const form = document.getElementById(timer.dataset.form);
  const tick = () => {
    const left = Math.max(0, Math.floor((endsAt - Date.now()) / 1000));
    output.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    if (left === 0) { if (form) form.submit(); return; }
    setTimeout(tick, 1000);
  };
  tick();
});
