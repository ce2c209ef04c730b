// The live page: the monitor swapped in from the server every second (the same template as
// the page, so the two never disagree), and the output's HLS preview played in the page.
// Without scripts the page still works; reload it.
(function () {
  const root = document.getElementById("live-monitor");
  if (root) {
    const src = root.dataset.src;
    let busy = false;
    setInterval(async function () {
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
    }, 1000);
  }

  // The preview: the playout node writes an HLS rendition of fragmented MP4 segments, played
  // through Media Source Extensions (the init segment once, then each new media segment in
  // order); a browser without them but with its own HLS player gets the playlist.
  const video = document.getElementById("live-preview");
  if (!video) return;
  const base = video.dataset.base;
  if (!window.MediaSource) {
    // No Media Source Extensions (iPhone Safari): the browser's own HLS player.
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = base + "master.m3u8";
      video.play().catch(function () {});
    }
    return;
  }

  async function text(name) {
    const r = await fetch(base + name, { credentials: "same-origin", cache: "no-store" });
    if (!r.ok) throw new Error(name + ": " + r.status);
    return r.text();
  }
  async function bytes(name) {
    const r = await fetch(base + name, { credentials: "same-origin", cache: "no-store" });
    if (!r.ok) throw new Error(name + ": " + r.status);
    return r.arrayBuffer();
  }
  function append(buffer, data) {
    return new Promise(function (resolve, reject) {
      buffer.addEventListener("updateend", resolve, { once: true });
      buffer.addEventListener("error", reject, { once: true });
      buffer.appendBuffer(data);
    });
  }
  // The segment number in a name like index12.m4s.
  function number(name) {
    const m = /(\d+)\.m4s$/.exec(name);
    return m ? parseInt(m[1], 10) : -1;
  }

  async function start() {
    const master = await text("master.m3u8");
    const codecs = /CODECS="([^"]+)"/.exec(master);
    const variant = master.split("\n").find(function (l) { return l && !l.startsWith("#"); });
    const type = 'video/mp4; codecs="' + (codecs ? codecs[1] : "avc1.64001f,mp4a.40.2") + '"';
    if (!variant || !MediaSource.isTypeSupported(type)) throw new Error("cannot play " + type);
    const media = new MediaSource();
    video.src = URL.createObjectURL(media);
    await new Promise(function (resolve) { media.addEventListener("sourceopen", resolve, { once: true }); });
    const buffer = media.addSourceBuffer(type);
    await append(buffer, await bytes("init.mp4"));
    let last = -1;
    for (;;) {
      const playlist = await text(variant.trim());
      const segments = playlist.split("\n").filter(function (l) { return l.endsWith(".m4s"); });
      for (const s of segments) {
        const n = number(s);
        // Join live: start from the newest segments, then take each new one in order.
        if (n <= last || (last < 0 && n < number(segments[segments.length - 1]) - 1)) continue;
        await append(buffer, await bytes(s));
        last = n;
        if (video.paused) {
          if (buffer.buffered.length) video.currentTime = buffer.buffered.start(0);
          video.play().catch(function () {});
        }
      }
      if (playlist.includes("#EXT-X-ENDLIST")) return;
      await new Promise(function (resolve) { setTimeout(resolve, 1000); });
    }
  }

  (async function () {
    for (;;) {
      try {
        await start();
        return;
      } catch (e) {
        // Not on air yet, or a segment was deleted before it was fetched: try again.
        await new Promise(function (resolve) { setTimeout(resolve, 2000); });
      }
    }
  })();
})();
