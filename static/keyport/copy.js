// Copy buttons: `data-kp-copy="<id>"` copies the text of the element with that id. The button
// starts hidden, so that without JavaScript only the selectable text shows; the page's
// Content-Security-Policy allows no inline script, hence this file.
document.addEventListener("DOMContentLoaded", () => {
  if (!navigator.clipboard) return;
  for (const button of document.querySelectorAll("[data-kp-copy]")) {
    const source = document.getElementById(button.dataset.kpCopy);
    const status = document.querySelector(`[data-kp-copy-status="${button.dataset.kpCopy}"]`);
    if (!source) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        if (status) status.textContent = button.dataset.kpCopied || "Copied";
      } catch {
        if (status) status.textContent = button.dataset.kpCopyFailed || "";
      }
    });
  }
});
