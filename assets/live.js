// The live monitor: swaps in the server-rendered monitor every second (the same template as
// the page, so the two never disagree). Without scripts the page still works; reload it.
(function () {
  const root = document.getElementById("live-monitor");
  if (!root) return;
  const src = root.dataset.src;
  let busy = false;
  async function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const r = await fetch(src, { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (r.ok) root.innerHTML = await r.text();
    } catch (e) {
      // The studio is unreachable for a moment: keep the last view.
    } finally {
      busy = false;
    }
  }
  setInterval(refresh, 1000);
})();
