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

// A confirmation asked by the form, or by the button that submits it.
document.addEventListener("submit", (event) => {
  const message = (event.submitter && event.submitter.dataset.confirm) || event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// The assessment: answers are kept in this browser as they are chosen (a reload or a closed
// tab loses nothing), a submit with questions left open asks first, and the timer shows the
// time left and submits when it runs out. The server enforces the limit whatever this does.
// Browsers may refuse storage (private modes): then nothing is kept, and nothing breaks.
const kept = {
  read(key) { try { return JSON.parse(localStorage.getItem(key) || "{}"); } catch { return {}; } },
  write(key, value) { try { localStorage.setItem(key, JSON.stringify(value)); } catch { /* not kept */ } },
  forget(key) { try { localStorage.removeItem(key); } catch { /* nothing kept */ } },
};

window.addEventListener("DOMContentLoaded", () => {
  const key = `answers:${location.pathname}`;
  const form = document.getElementById("answers");
  if (!form) {
    // The attempt is over (done, closed): nothing kept for it is needed any more.
    if (document.getElementById("done") || document.getElementById("expired")) kept.forget(key);
    return;
  }
  const saved = kept.read(key);
  for (const [name, value] of Object.entries(saved)) {
    const input = form.querySelector(`input[name="${CSS.escape(name)}"][value="${CSS.escape(value)}"]`);
    if (input) input.checked = true;
  }
  form.addEventListener("change", (event) => {
    if (event.target.type !== "radio") return;
    saved[event.target.name] = event.target.value;
    kept.write(key, saved);
  });

  let timeUp = false;
  form.addEventListener("submit", (event) => {
    if (timeUp || event.defaultPrevented) return;
    const questions = form.querySelectorAll("fieldset.question");
    const open = [...questions].filter((q) => !q.querySelector("input:checked")).length;
    const ask = open === 1 ? "1 question is not answered yet." : `${open} questions are not answered yet.`;
    if (open > 0 && !window.confirm(`${ask} Submit anyway?`)) event.preventDefault();
  });

  const timer = document.querySelector("[data-ends-at]");
  if (!timer) return;
  // Counted from the server's figure, not the browser's clock, which may be wrong.
  const endsAt = Date.now() + Number(timer.dataset.secondsLeft) * 1000;
  const output = timer.querySelector("output");
  const tick = () => {
    const left = Math.max(0, Math.floor((endsAt - Date.now()) / 1000));
    output.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    if (left <= 60 && !timer.classList.contains("low")) {
      timer.classList.add("low");
      timer.setAttribute("aria-live", "assertive");
    }
    if (left === 0) {
      timeUp = true;
      // The form's own submit(): a control named or id'd "submit" would shadow form.submit.
      HTMLFormElement.prototype.submit.call(form);
      return;
    }
    setTimeout(tick, 1000);
  };
  tick();
});
