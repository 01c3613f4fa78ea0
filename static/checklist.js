// The checklist saves itself as boxes are ticked; without this script the Save button does.
(function () {
  var form = document.getElementById("checklist");
  if (!form || !window.fetch) return;
  var boxes = form.querySelectorAll("input[name=item]");
  var count = document.getElementById("checklist-count");
  var ready = document.getElementById("checklist-ready");
  var early = document.getElementById("checklist-early");
  form.querySelector("#save-checklist").hidden = true;
  function show() {
    var ticked = form.querySelectorAll("input[name=item]:checked").length;
    count.textContent = ticked + " of " + boxes.length + " checked";
    if (ready) { ready.hidden = ticked < boxes.length; early.hidden = !ready.hidden; }
  }
  form.addEventListener("change", function () {
    show();
    fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
           headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
      })
      .catch(function () {
        count.textContent = "Not saved: check your connection and press Save checklist.";
        form.querySelector("#save-checklist").hidden = false;
      });
  });
})();
