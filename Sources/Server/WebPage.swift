import Foundation
import Hummingbird

/// The page at `/`: HTML, CSS and plain JavaScript in the binary, loading nothing from elsewhere (the
/// Content-Security-Policy forbids it). It talks to the JSON API only.
enum WebPage {
    static func response() -> Response {
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                 body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static let html = """
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>vjsearch</title>
    <style>
    :root { --header: 84px; --bg: #fafafa; --fg: #1b1b1b; --muted: #666; --card: #fff; --accent: #1d5fd1; --line: #ddd; }
    @media (prefers-color-scheme: dark) {
      :root { --bg: #161616; --fg: #eee; --muted: #aaa; --card: #222; --accent: #7aa7ff; --line: #333; }
    }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
    header { position: sticky; top: 0; z-index: 2; background: var(--bg); border-bottom: 1px solid var(--line);
             padding: 10px 16px; }
    form { display: flex; gap: 8px; max-width: 900px; }
    input[type=search] { flex: 1; min-width: 0; font-size: 17px; padding: 8px 10px; border: 1px solid var(--line);
                         border-radius: 6px; background: var(--card); color: var(--fg); }
    button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid var(--line);
             background: var(--card); color: var(--fg); cursor: pointer; }
    button:focus-visible, .card:focus-visible, input:focus-visible { outline: 3px solid var(--accent); outline-offset: 1px; }
    #info { color: var(--muted); font-size: 13px; margin-top: 6px; }
    main { padding: 12px 16px 40px; }
    #message { color: var(--muted); margin: 8px 0; }
    #results { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px; }
    .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; cursor: pointer; }
    .card.playing { border-color: var(--accent); }
    .strip { display: grid; grid-template-columns: repeat(3, 1fr); background: #000; }
    .strip img { width: 100%; aspect-ratio: 4 / 3; object-fit: contain; display: block; }
    .meta { padding: 8px 10px; }
    .meta .score { font-weight: 600; }
    .meta .file { color: var(--muted); word-break: break-all; font-size: 13px; }
    .meta .actions { margin-top: 6px; display: flex; gap: 6px; }
    #player { position: sticky; top: calc(var(--header) + 8px); z-index: 1; background: var(--card); border: 1px solid var(--line);
              border-radius: 8px; padding: 8px; margin-bottom: 12px; display: none; }
    #player.open { display: block; }
    #player video { width: 100%; max-height: 45vh; background: #000; display: block; }
    #player .bar { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-top: 6px; }
    #player .where { color: var(--muted); font-size: 13px; flex: 1; word-break: break-all; }
    #unplayable { display: none; margin-top: 6px; }
    #unplayable code { user-select: all; background: var(--bg); padding: 2px 4px; }
    </style>
    </head>
    <body>
    <header>
      <form id="search" role="search">
        <input id="q" type="search" name="q" placeholder="Search moments, e.g. a dog runs on the beach   (press / to focus)"
               aria-label="Search moments" autocomplete="off" autofocus>
        <button type="submit">Search</button>
      </form>
      <div id="info" aria-live="polite"></div>
    </header>
    <main>
      <section id="player" aria-label="Player">
        <video id="video" controls preload="metadata"></video>
        <div class="bar">
          <span class="where" id="where"></span>
          <button id="playon" type="button">Play on</button>
          <button id="close" type="button">Close</button>
        </div>
        <div id="unplayable">This browser cannot play this video's format. Open it with:
          <code id="mpv"></code></div>
      </section>
      <div id="message" aria-live="polite"></div>
      <div id="results"></div>
    </main>
    <script>
    "use strict";
    const $ = (id) => document.getElementById(id);
    const video = $("video");
    let stopAt = null;

    function clock(t) {
      t = Math.round(t * 10) / 10;  // before splitting, or 59.97 s would show as 0:60.0
      const h = Math.floor(t / 3600), m = Math.floor(t / 60) % 60, s = (t % 60).toFixed(1).padStart(4, "0");
      return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + s;
    }
    function shellQuote(s) { return "'" + s.replace(/'/g, "'\\\\''") + "'"; }
    async function api(path) {
      const response = await fetch(path, { credentials: "same-origin" });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
      return body;
    }

    async function showInfo() {
      try {
        const s = await api("/api/status");
        const model = (s.model_name || s.model_id) + (s.domain ? " (" + s.domain + ")" : "");
        $("info").textContent = "model " + model + " · " + s.videos + " videos · " + s.segments +
          " segments · " + s.hours.toFixed(2) + " hours" + (s.daemon && s.daemon.running ? " · daemon running" : "");
      } catch (e) { $("info").textContent = "status: " + e.message; }
    }

    function render(result, title) {
      const results = $("results");
      results.replaceChildren();
      $("message").textContent = result.moments.length
        ? title + ": " + result.moments.length + " moments in " + result.took_ms + " ms"
        : title + ": no moments found";
      for (const m of result.moments) {
        const card = document.createElement("article");
        card.className = "card";
        card.tabIndex = 0;
        card.dataset.videoId = m.video_id;
        card.dataset.start = m.start;
        card.dataset.end = m.end;
        card.dataset.path = m.path;
        card.setAttribute("aria-label", "Play " + m.path.split("/").pop() + " from " + clock(m.start));
        const strip = document.createElement("div");
        strip.className = "strip";
        const span = m.end - m.start;
        for (const f of [0.1, 0.5, 0.9]) {
          const img = document.createElement("img");
          img.loading = "lazy";
          img.alt = "";
          img.src = "/thumbnails/" + m.video_id + "/" + (Math.floor((m.start + f * span) * 10) / 10) + ".jpg";
          strip.append(img);
        }
        const meta = document.createElement("div");
        meta.className = "meta";
        const line = document.createElement("div");
        const score = document.createElement("span");
        score.className = "score";
        score.textContent = m.score.toFixed(3);
        line.append(score, "  " + clock(m.start) + "–" + clock(m.end) + (m.partial ? "  (partly indexed)" : ""));
        const file = document.createElement("div");
        file.className = "file";
        file.textContent = m.path;
        const actions = document.createElement("div");
        actions.className = "actions";
        const like = document.createElement("button");
        like.type = "button";
        like.className = "like";
        like.textContent = "More like this";
        like.addEventListener("click", (e) => { e.stopPropagation(); similar(m); });
        actions.append(like);
        meta.append(line, file, actions);
        card.append(strip, meta);
        card.addEventListener("click", () => play(m, card));
        card.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); play(m, card); } });
        results.append(card);
      }
    }

    // The player sticks just below the header, whose height changes as it wraps on narrow windows.
    const header = document.querySelector("header");
    new ResizeObserver(() => document.documentElement.style.setProperty("--header", header.offsetHeight + "px")).observe(header);

    function play(m, card) {
      document.querySelectorAll(".card.playing").forEach((c) => c.classList.remove("playing"));
      card.classList.add("playing");
      $("player").classList.add("open");
      $("unplayable").style.display = "none";
      $("where").textContent = m.path + "  " + clock(m.start) + "–" + clock(m.end);
      $("mpv").textContent = "mpv --start=" + m.start.toFixed(1) + " " + shellQuote(m.path);
      stopAt = m.end;
      const src = "/media/" + m.video_id;
      const seek = () => { video.currentTime = m.start; video.play().catch(() => {}); };
      if (video.getAttribute("src") !== src) {
        video.setAttribute("src", src);
        video.addEventListener("loadedmetadata", seek, { once: true });
        video.load();
      } else {
        seek();
      }
      video.focus();
    }

    async function search(text) {
      if (!text.trim()) return;
      $("message").textContent = "searching…";
      history.replaceState(null, "", "?q=" + encodeURIComponent(text));
      try { render(await api("/api/search?top=24&q=" + encodeURIComponent(text)), "“" + text + "”"); }
      catch (e) { $("message").textContent = "error: " + e.message; }
    }

    async function similar(m) {
      $("message").textContent = "searching…";
      const t = (m.start + m.end) / 2;
      try { render(await api("/api/similar?top=24&video=" + m.video_id + "&t=" + t.toFixed(2)),
                   "like " + m.path.split("/").pop() + " at " + clock(t)); }
      catch (e) { $("message").textContent = "error: " + e.message; }
    }

    video.addEventListener("timeupdate", () => {
      if (stopAt !== null && video.currentTime >= stopAt) { video.pause(); stopAt = null; }
    });
    video.addEventListener("error", () => {
      if (video.error && (video.error.code === 4 || video.error.code === 3)) $("unplayable").style.display = "block";
    });
    $("playon").addEventListener("click", () => { stopAt = null; video.play().catch(() => {}); });
    $("close").addEventListener("click", () => { video.pause(); $("player").classList.remove("open"); });
    $("search").addEventListener("submit", (e) => { e.preventDefault(); search($("q").value); });
    document.addEventListener("keydown", (e) => {
      if (e.key === "/" && document.activeElement !== $("q")) { e.preventDefault(); $("q").focus(); $("q").select(); }
    });
    showInfo();
    const initial = new URLSearchParams(location.search).get("q");
    if (initial) { $("q").value = initial; search(initial); }
    </script>
    </body>
    </html>
    """
}
