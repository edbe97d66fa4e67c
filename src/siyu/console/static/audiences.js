// The audience builder: count while the operator types (debounced; a stale answer never overwrites a newer one).
(function () {
  const expr = document.getElementById("expr");
  const count = document.getElementById("count");
  const took = document.getElementById("took");
  const normal = document.getElementById("normal");
  const error = document.getElementById("expr-error");
  const body = document.querySelector("#sample tbody");
  const hidden = document.getElementById("save-expression");
  let timer = null, asked = 0;

  function cell(text) { const td = document.createElement("td"); td.textContent = text == null ? "" : text; return td; }

  function show(data) {
    count.textContent = data.count.toLocaleString();
    count.dataset.count = data.count;
    took.textContent = data.ms + " ms";
    normal.textContent = data.text;
    error.hidden = true;
    body.replaceChildren(...data.sample.map(function (r) {
      const tr = document.createElement("tr");
      const a = document.createElement("a");
      a.href = "/persons/" + r.person_id; a.textContent = r.person_id;
      const td = document.createElement("td"); td.appendChild(a); tr.appendChild(td);
      [r.tier, r.points, r.frequency, "¥" + r.spend, r.recency_days, r.city].forEach(function (v) { tr.appendChild(cell(v)); });
      return tr;
    }));
  }

  async function run() {
    const q = expr.value.trim();
    hidden.value = expr.value;
    if (!q) { count.textContent = "–"; count.dataset.count = ""; body.replaceChildren(); error.hidden = true; return; }
    const mine = ++asked;
    const res = await fetch("/api/audiences/count?sample=20&q=" + encodeURIComponent(q), {credentials: "same-origin"});
    const data = await res.json();
    if (mine !== asked) return;  // a newer request is on its way
    if (!res.ok) {
      error.textContent = data.error || res.statusText; error.hidden = false;
      count.textContent = "–"; count.dataset.count = ""; body.replaceChildren();
      return;
    }
    show(data);
  }

  expr.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 250); });
  document.querySelectorAll("a.insert").forEach(function (a) {
    a.addEventListener("click", function (e) {
      e.preventDefault();
      expr.value = (expr.value.trim() ? expr.value.trim() + " and " : "") + a.dataset.text + " = ";
      expr.focus();
    });
  });
  document.querySelectorAll("#exports a").forEach(function (a) {
    a.addEventListener("click", function (e) {
      e.preventDefault();
      if (!expr.value.trim()) return;
      window.location = "/audiences/export?format=" + a.dataset.format + "&q=" + encodeURIComponent(expr.value.trim());
    });
  });
  if (expr.value.trim()) run();
})();
