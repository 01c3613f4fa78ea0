// Pre-fill the time zone from the browser when the field still holds the default.
(function () {
  var field = document.getElementById("timezone");
  if (!field || field.getAttribute("aria-invalid") === "true") return;
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && (field.value === "" || field.value === "UTC")) field.value = zone;
})();
