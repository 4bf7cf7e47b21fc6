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
    regions(doc).forEach(function (fresh) {
      var old = document.getElementById(fresh.id);
      if (old) old.replaceWith(fresh);
    });
    // The form's own fields (search box, order, ranges) take the new page's values:
    // their names come from the page, so a new parameter needs no change here.
    Array.prototype.forEach.call(form.elements, function (mine) {
      if (!mine.id || mine === document.activeElement || /^(hidden|checkbox|radio|submit|button)$/.test(mine.type)) return;
      var theirs = doc.getElementById(mine.id);
      if (theirs && "value" in theirs) mine.value = theirs.value;
    });
    var hidden = form.querySelector("[data-hidden-fields]"), freshHidden = doc.querySelector("[data-hidden-fields]");
    if (hidden && freshHidden) hidden.replaceWith(freshHidden);
    document.title = doc.title;
    var count = document.getElementById("result-count");
    if (live && count) live.textContent = count.textContent;
  }

  function load(url, push) {
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
    load(link.href, true);
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
