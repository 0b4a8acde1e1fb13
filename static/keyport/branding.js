// A site's brand colour as CSS custom properties. The Content-Security-Policy allows no inline
// style, so the page names the colours in data attributes and this sets them on the document.
(() => {
  const source = document.querySelector("[data-brand-colour]");
  if (!source) return;
  document.documentElement.style.setProperty("--kp-brand", source.dataset.brandColour);
  document.documentElement.style.setProperty("--kp-brand-text", source.dataset.brandText);
  if (source.dataset.brandLink) {
    document.documentElement.style.setProperty("--kp-brand-link", source.dataset.brandLink);
  }
})();
