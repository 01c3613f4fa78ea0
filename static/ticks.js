// Mark done and Undo on the dashboard without a reload: the button posts what it would
// post anyway, and the dashboard the server answers with replaces this one in place, so
// the progress moves where the learner is looking. Without this script the same forms
// post and the page reloads.
(function () {
  if (!window.fetch || !window.DOMParser) return;
  var main = document.getElementById("main");
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    if (!form.matches("form.ticks") || !button || !button.hasAttribute("formaction") ||
        form.dataset.plain) return;
    event.preventDefault();
    var data = new FormData(form);
    if (button.name) data.append(button.name, button.value);
    button.disabled = true;
    fetch(button.formAction, {method: "POST", body: data, credentials: "same-origin"})
      .then(function (response) {
        // Anything but the dashboard again (the last tick's completion page, an error):
        // show it as a plain post would.
        if (!response.ok || new URL(response.url).pathname !== location.pathname) {
          location.assign(response.url);
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("main");
        var y = window.scrollY;
        main.replaceChildren.apply(main, Array.from(fresh.childNodes));
        window.scrollTo(0, y);
        var status = main.querySelector(".flashes");
        if (status) { status.setAttribute("tabindex", "-1"); status.focus({preventScroll: true}); }
      })
      .catch(function () {  // no answer: post it the plain way instead
        form.dataset.plain = "1";
        button.disabled = false;
        button.click();
      });
  });
})();
