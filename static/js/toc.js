// Progressive enhancement for a topic page's table of contents: the section
// being read is marked in the contents (aria-current) as the reader scrolls.
// Without JavaScript the contents are plain links.
(function () {
  "use strict";
  if (!("IntersectionObserver" in window)) return;
  var observer = null;

  function watch() {
    if (observer) observer.disconnect();
    var toc = document.querySelector("[data-toc]");
    if (!toc) return;
    var links = {};
    // Links to a section shown on this page (a long one may link to its own page).
    toc.querySelectorAll("a[href*='#']").forEach(function (a) {
      if (a.pathname === window.location.pathname) links[decodeURIComponent(a.hash.slice(1))] = a;
    });
    var visible = new Set();
    function mark() {
      var current = null;
      document.querySelectorAll(".section__title").forEach(function (heading) {
        if (visible.has(heading.id) && current === null) current = heading.id;
      });
      if (current === null) return;  // between headings: keep the last one
      Object.keys(links).forEach(function (id) {
        if (id === current) links[id].setAttribute("aria-current", "true");
        else links[id].removeAttribute("aria-current");
      });
    }
    observer = new IntersectionObserver(function (changes) {
      changes.forEach(function (change) {
        if (change.isIntersecting) visible.add(change.target.id);
        else visible.delete(change.target.id);
      });
      mark();
    }, { rootMargin: "0px 0px -60% 0px" });
    document.querySelectorAll(".section__title").forEach(function (heading) {
      if (links[heading.id]) observer.observe(heading);
    });
  }

  watch();
  // The filters replace the contents in place: watch the new ones.
  var region = document.getElementById("topic-results");
  if (region && "MutationObserver" in window) {
    new MutationObserver(watch).observe(region.parentNode, { childList: true });
  }
})();
