// Reopen a dialog the server sent back with errors in it (Add Contact / Edit Contact).
document.addEventListener("DOMContentLoaded", () => {
  const dialog = document.querySelector("[data-keyport-open]");
  if (dialog && window.bootstrap) {
    window.bootstrap.Modal.getOrCreateInstance(dialog).show();
  }
});
