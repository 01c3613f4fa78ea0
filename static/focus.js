// A refused form: move focus to its error summary, so the page shows it first and a screen
// reader reads it out. Without the script the summary is still first on the page.
(function () {
  var summary = document.querySelector("[data-autofocus]");
  if (!summary) return;
  // A form sent after following one of the summary's links comes back to an address ending
  // in that field's #id, which the browser would focus instead: drop it.
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  summary.focus();
})();
