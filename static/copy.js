// Copy buttons: shown only when the script runs; without it the address stays selectable
// in its read-only field.
(function () {
  var status = document.querySelector(".copy-status");
  function say(text) { if (status) status.textContent = text; }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      field.focus();
      field.select();
      var label = field.labels && field.labels[0] ? field.labels[0].textContent : "Address";
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(
          function () { say(label + " copied."); },
          function () { say("Press Ctrl+C (or ⌘C) to copy the selected address."); });
      } else {
        say(document.execCommand && document.execCommand("copy")
          ? label + " copied." : "Press Ctrl+C (or ⌘C) to copy the selected address.");
      }
    });
  });
  // A click in a read-only address selects all of it, ready to copy.
  document.querySelectorAll(".copy-row input[readonly]").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
})();
