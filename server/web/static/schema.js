/* /schema: lists the OpenAPI document's operations, grouped by tag (no CDN, no build step). */
(function () {
  "use strict";
  var root = document.getElementById("docs");
  function el(tag, text, cls) { var n = document.createElement(tag); if (text) n.textContent = text; if (cls) n.className = cls; return n; }
  function ref(spec, obj) {
    if (obj && obj.$ref) return obj.$ref.split("/").slice(1).reduce(function (o, k) { return o && o[k]; }, spec);
    return obj;
  }
  fetch(root.dataset.spec).then(function (r) { return r.json(); }).then(function (spec) {
    var groups = {};
    Object.keys(spec.paths || {}).forEach(function (path) {
      var item = spec.paths[path];
      Object.keys(item).forEach(function (method) {
        var op = item[method];
        if (!op || typeof op !== "object" || !op.responses) return;
        var tag = (op.tags && op.tags[0]) || "other";
        (groups[tag] = groups[tag] || []).push({ path: path, method: method.toUpperCase(), op: op });
      });
    });
    Object.keys(groups).sort().forEach(function (tag) {
      root.appendChild(el("h2", tag));
      groups[tag].forEach(function (e) {
        var d = el("details"), s = el("summary");
        s.appendChild(el("span", e.method, "m " + e.method));
        s.appendChild(el("code", e.path));
        s.appendChild(document.createTextNode(" " + (e.op.summary || "")));
        d.appendChild(s);
        if (e.op.description) d.appendChild(el("p", e.op.description));
        var params = (e.op.parameters || []).map(function (p) { return ref(spec, p); });
        if (params.length) {
          var t = el("table"), h = el("tr");
          ["name", "in", "required", "schema"].forEach(function (x) { h.appendChild(el("th", x)); });
          t.appendChild(h);
          params.forEach(function (p) {
            var tr = el("tr");
            [p.name, p.in, p.required ? "yes" : "no", JSON.stringify(p.schema || {})].forEach(function (x) { tr.appendChild(el("td", String(x))); });
            t.appendChild(tr);
          });
          d.appendChild(t);
        }
        if (e.op.requestBody) { d.appendChild(el("p", "Body:")); d.appendChild(el("pre", JSON.stringify(e.op.requestBody, null, 1))); }
        d.appendChild(el("p", "Answers: " + Object.keys(e.op.responses).join(", ")));
        root.appendChild(d);
      });
    });
  }).catch(function (err) { root.appendChild(el("p", "Could not load the document: " + err)); });
})();
