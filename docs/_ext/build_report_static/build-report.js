// The live docs server's side of docs/_ext/build_report.py. Every page
//  - shows a banner while the last build is failing: the failing file, cell and error;
//  - reloads itself when a newer build has finished (the report changes), so a fix makes the
//    banner go away by itself. (sphinx-autobuild's own reload socket is addressed to the
//    container's 0.0.0.0:8000, which a browser outside the container cannot always reach.)
(() => {
  const root = document.documentElement.dataset.content_root ?? "./";
  const el = (tag, text, css) => {
    const e = document.createElement(tag);
    if (text) e.textContent = text; // text only: messages come from notebooks
    if (css) e.style.cssText = css;
    return e;
  };
  const show = (report) => {
    if (report.ok) return;
    const box = el("div", "", "position:sticky;top:0;z-index:10000;background:#fdecea;color:#611a15;" +
      "border-bottom:3px solid #d32f2f;padding:.8em 1.2em;font:15px/1.4 system-ui,sans-serif");
    box.id = "build-report";
    box.setAttribute("role", "alert");
    box.append(el("strong", "The documentation build failed: pages may show an older version."));
    const list = el("ul", "", "margin:.4em 0");
    for (const p of report.problems) {
      const item = el("li");
      const name = p.page ? el("a", p.source) : el("code", p.source || "(the build)");
      if (p.page) name.href = root + p.page;
      item.append(name, (p.where ? `, ${p.where}` : "") + ": ", el("code", p.error));
      if (p.detail) {
        const more = el("details");
        more.append(el("summary", "Traceback"), el("pre", p.detail, "white-space:pre-wrap;max-height:20em;overflow:auto"));
        item.append(more);
      }
      list.append(item);
    }
    box.append(list, el("span", "Fix the file and save it: the site rebuilds, and this notice goes away by itself. " +
      "Full log: docker compose logs docs"));
    document.body.prepend(box);
  };
  let seen = null;
  const check = () => fetch(root + "_build-report.json", { cache: "no-store" })
    .then((r) => (r.ok ? r.json() : null))
    .then((report) => {
      if (!report) return;
      if (seen === null) {
        seen = report.build;
        show(report);
      } else if (report.build !== seen) {
        location.reload();
      }
    })
    .catch(() => {});
  check();
  setInterval(check, 2000);
})();
