// Styles of a module loaded on first use, adopted when it loads (no extra request, no flash
// of unstyled content; CSP-safe, unlike a <style> element).

export function adoptStyles(css) {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}
