// Header search suggestions: as the reader types, a few topics, sections and entries,
// grouped, from /search/?format=json. Arrow keys move, Enter opens, Escape closes;
// "/" anywhere (outside a field) focuses the box. Without JavaScript the form
// submits to the results page, which shows the same groups.
(function () {
  "use strict";
  var input = document.getElementById("site-search-q");
  if (!input) return;
  var list = document.getElementById("site-search-list");
  var url = input.getAttribute("data-suggest-url");
  var timer = null, request = 0, options = [], active = -1;
  var GROUPS = [["topics", "Topics"], ["sections", "Sections"], ["entries", "Entries"]];

  function close() {
    list.hidden = true;
    list.textContent = "";
    options = [];
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function select(index) {
    if (!options.length) return;
    active = (index + options.length) % options.length;
    options.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === active ? "true" : "false");
    });
    input.setAttribute("aria-activedescendant", options[active].id);
    options[active].scrollIntoView({ block: "nearest" });
  }

  function render(data) {
    close();
    var n = 0;
    GROUPS.forEach(function (group) {
      var found = data[group[0]];
      if (!found || !found.results.length) return;
      var heading = document.createElement("li");
      heading.className = "site-search__group";
      heading.setAttribute("role", "presentation");
      heading.textContent = group[1] + " (" + found.count + ")";
      list.appendChild(heading);
      found.results.forEach(function (hit) {
        var option = document.createElement("li");
        option.className = "site-search__option";
        option.id = "site-search-option-" + n++;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.dataset.url = hit.url;
        option.textContent = hit.title;
        var where = document.createElement("small");
        where.textContent = hit.where;
        option.appendChild(where);
        option.addEventListener("mousedown", function (event) {
          event.preventDefault();
          window.location.href = hit.url;
        });
        list.appendChild(option);
        options.push(option);
      });
    });
    if (options.length) {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
  }

  function suggest() {
    var text = input.value.trim();
    if (text.length < 2) { close(); return; }
    var mine = ++request;
    fetch(url + "?format=json&q=" + encodeURIComponent(text), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && mine === request) render(data); })
      .catch(function () { close(); });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(suggest, 150);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") { event.preventDefault(); select(active + 1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); select(active - 1); }
    else if (event.key === "Escape" && !list.hidden) { event.preventDefault(); close(); }  // keep the text
    else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      window.location.href = options[active].dataset.url;
    }
  });
  input.addEventListener("blur", function () { setTimeout(close, 100); });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
    event.preventDefault();
    input.focus();
    input.select();
  });
})();
