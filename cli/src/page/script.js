// Optional: everything on the page reads without this script. It adds a filter over the
// listed files and a button saving the embedded JSON report; it makes no request.
(function () {
  "use strict";
  var line = document.getElementById("filter-line");
  var input = document.getElementById("filter");
  var rows = document.querySelectorAll("table.examples tbody tr");
  if (line && input && rows.length) {
    line.hidden = false;
    input.addEventListener("input", function () {
      var query = input.value.toLowerCase();
      rows.forEach(function (row) {
        row.hidden = query !== "" && row.textContent.toLowerCase().indexOf(query) < 0;
      });
    });
  }
  var save = document.getElementById("save");
  var data = document.getElementById("report-data");
  if (save && data) {
    save.hidden = false;
    save.addEventListener("click", function () {
      var url = URL.createObjectURL(new Blob([data.textContent], { type: "application/json" }));
      var link = document.createElement("a");
      link.href = url;
      link.download = "report.json";
      document.body.appendChild(link);
      link.click();
      link.remove();
      URL.revokeObjectURL(url);
    });
  }
})();
