// The year range as a two-handle slider (two overlapping range inputs) kept in
// step with the From/to number fields, which alone do the job without JavaScript.
(function () {
  "use strict";
  function build() {
    var box = document.querySelector("[data-year-slider]");
    if (!box || box.childElementCount) return;
    var from = document.getElementById("id_year_min"), to = document.getElementById("id_year_max");
    var first = +box.dataset.first, last = +box.dataset.last;
    function handle(label, end) {
      var input = document.createElement("input");
      input.type = "range";
      input.min = first;
      input.max = last;
      input.setAttribute("aria-label", label);
      input.dataset.end = end;
      box.appendChild(input);
      return input;
    }
    var low = handle("Year from (slider)", "low"), high = handle("Year to (slider)", "high");
    function clamp(value, fallback) {
      value = parseInt(value, 10);
      return isNaN(value) ? fallback : Math.min(last, Math.max(first, value));
    }
    function paint() {
      var span = last - first;
      box.style.setProperty("--low", (100 * (low.value - first)) / span + "%");
      box.style.setProperty("--high", (100 * (high.value - first)) / span + "%");
    }
    function fromFields() {
      low.value = clamp(from.value, first);
      high.value = clamp(to.value, last);
      paint();
    }
    function toFields(moved) {
      if (+low.value > +high.value) (moved === low ? high : low).value = moved.value;
      // A handle at the end of the scale sets no bound (entries without a year stay in).
      from.value = +low.value > first ? low.value : "";
      to.value = +high.value < last ? high.value : "";
      paint();
    }
    [low, high].forEach(function (input) {
      input.addEventListener("input", function () { toFields(input); });
      input.addEventListener("change", function () {
        var form = input.form;
        if (form) form.requestSubmit ? form.requestSubmit() : form.submit();
      });
    });
    from.addEventListener("input", fromFields);
    to.addEventListener("input", fromFields);
    fromFields();
    box.hidden = false;
    // A handle moved with the keyboard keeps the focus when the results come in.
    if (focused) box.querySelector("[data-end='" + focused + "']").focus();
    focused = "";
  }
  var focused = "";
  build();
  document.addEventListener("browse:updating", function () {
    var active = document.activeElement;
    focused = active && active.closest("[data-year-slider]") ? active.dataset.end : "";
  });
  document.addEventListener("browse:updated", build);
})();

// Progressive enhancement for the faceted browse: apply filters without a full
// page reload, keep the URL and history in sync, and announce the new count.
// Without JavaScript the same links and GET form work as they are.
(function () {
  "use strict";
  var form = document.querySelector("[data-browse-form]");
  if (!form || !window.fetch || !window.history.pushState) return;
  var live = document.getElementById("browse-live");
  var controller = null;

  function regions(root) {
    return root.querySelectorAll("[data-region]");
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    document.dispatchEvent(new CustomEvent("browse:updating"));
    regions(doc).forEach(function (fresh) {
      var old = document.getElementById(fresh.id);
      if (old) old.replaceWith(fresh);
    });
    // The form's own fields (search box, order, ranges) take the new page's values:
    // their names come from the page, so a new parameter needs no change here.
    Array.prototype.forEach.call(form.elements, function (mine) {
      if (!mine.id || mine === document.activeElement || /^(hidden|checkbox|radio|submit|button)$/.test(mine.type)) return;
      var theirs = doc.getElementById(mine.id);
      if (!theirs || !("value" in theirs)) return;
      // A select's options depend on the query (e.g. "Relevance" only with a search).
      if (mine.tagName === "SELECT") mine.innerHTML = theirs.innerHTML;
      mine.value = theirs.value;
    });
    var hidden = form.querySelector("[data-hidden-fields]"), freshHidden = doc.querySelector("[data-hidden-fields]");
    if (hidden && freshHidden) hidden.replaceWith(freshHidden);
    document.title = doc.title;
    var count = document.getElementById("result-count");
    if (live && count) live.textContent = count.textContent;
    document.dispatchEvent(new CustomEvent("browse:updated"));
  }

  // After a new page of results, the reader is taken to its heading, as a
  // page load would: focus and scroll, so a screen reader reads it next.
  function toResults() {
    var heading = document.getElementById("result-count");
    if (!heading) return;
    heading.focus({ preventScroll: true });
    heading.scrollIntoView({ block: "start" });
  }

  function load(url, push, focusResults) {
    if (controller) controller.abort();
    controller = new AbortController();
    document.body.classList.add("is-loading");
    return fetch(url, { signal: controller.signal, headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        var finalUrl = response.url || url;
        return response.text().then(function (html) {
          swap(html);
          if (push) window.history.pushState({ browse: true }, "", finalUrl);
          else window.history.replaceState({ browse: true }, "", finalUrl + window.location.hash);
          shown = window.location.pathname + window.location.search;
          if (focusResults) toResults();
        });
      })
      .catch(function (error) {
        if (error.name !== "AbortError") window.location.href = url;
      })
      .finally(function () {
        document.body.classList.remove("is-loading");
      });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-facet-link], .pagination a, .facet__more");
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    // An SVG link's href is an object: read the attribute and resolve it.
    load(new URL(link.getAttribute("href"), window.location.href).href, true, !!link.closest(".pagination, .views, .entry-table"));
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    load(window.location.pathname + "?" + new URLSearchParams(
      Array.from(new FormData(form)).filter(function (pair) { return String(pair[1]).trim() !== ""; })
    ).toString(), true);
  });

  form.addEventListener("change", function (event) {
    if (event.target.matches("[data-auto-apply]")) form.requestSubmit ? form.requestSubmit() : form.submit();
  });

  // Fragment links fire popstate too: reload only when the query changed.
  var shown = window.location.pathname + window.location.search;
  window.addEventListener("popstate", function () {
    var now = window.location.pathname + window.location.search;
    if (now !== shown) load(window.location.href, false);
  });
})();
