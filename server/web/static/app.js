/* Shortstack web: the feed, the share page, log in and upload. Plain script, no build step.
   The API token stays in this browser (localStorage) and goes out as Authorization: Bearer. */
(function () {
  "use strict";
  var KEY = "shortstack.token", WHO = "shortstack.handle";
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var token = function () { return localStorage.getItem(KEY); };
  var unmuted = sessionStorage.getItem("shortstack.sound") === "on";

  function toast(text) {
    var el = $("[data-toast]");
    if (!el) return;
    el.textContent = text;
    el.classList.add("show");
    clearTimeout(toast.t);
    toast.t = setTimeout(function () { el.classList.remove("show"); }, 2600);
  }

  function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    if (token()) headers.Authorization = "Bearer " + token();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        if (r.status === 401 && token()) { localStorage.removeItem(KEY); localStorage.removeItem(WHO); }
        if (r.status === 204) return null;
        return r.json().then(function (data) {
          if (!r.ok) { var e = new Error(data.detail || data.title || ("HTTP " + r.status)); e.status = r.status; throw e; }
          return data;
        });
      });
  }

  function needLogin() {
    if (token()) return false;
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.hash);
    return true;
  }

  function el(tag, attrs, kids) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") n.textContent = attrs[k]; else n.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) { if (c) n.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return n;
  }

  /* 999, 1.2K, 15K, 3.4M, rounded down: the rule of shortstack/counts.py */
  function fmt(n) {
    n = Math.max(0, Math.floor(n || 0));
    if (n < 1000) return String(n);
    var big = n >= 1e6, tenths = Math.floor(n * 10 / (big ? 1e6 : 1000));
    var whole = Math.floor(tenths / 10), rest = tenths % 10;
    return (tenths >= 100 || rest === 0 ? String(whole) : whole + "." + rest) + (big ? "M" : "K");
  }

  /* user text with #tag and @handle as links, built as DOM (never innerHTML) */
  function linkified(text) {
    var frag = document.createDocumentFragment(), re = /(^|[^\w&])([#@])(\w{1,50})/g, pos = 0, m;
    while ((m = re.exec(text))) {
      var start = m.index + m[1].length;
      frag.appendChild(document.createTextNode(text.slice(pos, start)));
      var href = (m[2] === "#" ? "/tag/" : "/u/") + m[3].toLowerCase();
      frag.appendChild(el("a", { href: href, text: m[2] + m[3] }));
      pos = start + 1 + m[3].length;
    }
    frag.appendChild(document.createTextNode(text.slice(pos)));
    return frag;
  }

  /* ---- watch time: the same views endpoint and rules as the terminal client ---- */
  var watched = {};
  function sendWatch(id) {
    var w = watched[id];
    if (!w) return;
    if (w.since) { w.ms += performance.now() - w.since; w.since = performance.now(); }
    var ms = Math.round(w.ms - w.sent);
    if (ms < 250) return;
    w.sent += ms;
    var headers = { "Content-Type": "application/json" };
    if (token()) headers.Authorization = "Bearer " + token();
    fetch("/api/videos/" + encodeURIComponent(id) + "/views",
      { method: "POST", headers: headers, body: JSON.stringify({ watch_ms: ms }), keepalive: true })
      .catch(function () {});
  }
  function flushAll() { Object.keys(watched).forEach(sendWatch); }
  addEventListener("pagehide", flushAll);
  document.addEventListener("visibilitychange", function () { if (document.hidden) flushAll(); });

  /* ---- one video card ---- */
  function pickSource(card) {
    var list = (card.dataset.sources || "").split(",").filter(Boolean).map(function (s) {
      var i = s.indexOf(":"); return { side: +s.slice(0, i), url: s.slice(i + 1) };
    }).sort(function (a, b) { return a.side - b.side; });
    if (!list.length) return null;
    var want = Math.min(innerWidth, innerHeight) * Math.min(devicePixelRatio || 1, 2) * 0.5;
    for (var i = 0; i < list.length; i++) if (list[i].side >= want) return list[i].url;
    return list[list.length - 1].url;
  }

  /* HLS where the browser plays it natively (the browser then picks the rendition), else MP4 */
  var nativeHls = !!document.createElement("video").canPlayType("application/vnd.apple.mpegurl");

  function ensureSource(card, eager) {
    var v = $("video", card);
    if (!v || card.classList.contains("is-sensitive")) return;
    var url = nativeHls && card.dataset.hls && !card.dataset.mp4 ? card.dataset.hls : pickSource(card);
    if (url && v.getAttribute("src") !== url) v.setAttribute("src", url);
    if (eager) v.preload = "auto";
  }

  var playingCard = null;
  function play(card) {
    var v = $("video", card);
    playingCard = card;
    if (!v || card.classList.contains("is-sensitive")) return;
    ensureSource(card, true);
    v.muted = !unmuted;
    syncMute(card);
    var p = v.play();
    if (p && p.catch) p.catch(function () { v.muted = true; syncMute(card); v.play().catch(function () {}); });
  }

  function pause(card) {
    var v = $("video", card);
    if (v && !v.paused) v.pause();
  }

  function syncMute(card) {
    var v = $("video", card), b = $(".unmute", card);
    if (!v || !b) return;
    b.hidden = card.classList.contains("is-sensitive");
    b.setAttribute("aria-pressed", v.muted ? "false" : "true");
    b.textContent = v.muted ? "Tap to unmute" : "Sound on";
  }

  /* a viewer whose account says show_sensitive (PATCH /api/me) sees no notice */
  var showSensitive = false;
  function unveil(card) {
    card.classList.remove("is-sensitive");
    var cover = $(".cover", card);
    if (cover) cover.remove();
  }
  function loadSettings() {
    if (!token()) return;
    api("GET", "/api/me").then(function (me) {
      if (!me.show_sensitive) return;
      showSensitive = true;
      $$(".card.is-sensitive").forEach(unveil);
    }).catch(function () {});
  }

  function setupCard(card) {
    if (card.dataset.ready) return;
    card.dataset.ready = "1";
    if (showSensitive) unveil(card);
    var v = $("video", card), id = card.dataset.id;
    if (v) {
      v.removeAttribute("controls");
      v.addEventListener("error", function () {  /* HLS refused (e.g. not packaged yet): MP4 */
        if (card.dataset.mp4 || !card.dataset.hls) return;
        card.dataset.mp4 = "1";
        ensureSource(card, true);
        if (card === playingCard) play(card);
      });
      v.addEventListener("click", function () { if (v.paused) play(card); else v.pause(); });
      v.addEventListener("playing", function () { (watched[id] = watched[id] || { ms: 0, sent: 0 }).since = performance.now(); });
      v.addEventListener("timeupdate", function () {
        /* report as soon as the play qualifies as a view (half the video or 10 s: the server's
           rule decides), then every 5 s: a closed tab loses at most the last few seconds */
        var w = watched[id];
        if (!w || !w.since) return;
        var ms = w.ms + performance.now() - w.since, dur = (v.duration || +card.dataset.duration || 0) * 1000;
        var view = Math.min(10000, dur ? dur / 2 : 10000);
        if ((!w.qualified && ms >= view + 100) || ms - w.sent >= 5000) {
          w.qualified = w.qualified || ms >= view + 100;
          sendWatch(id);
        }
      });
      v.addEventListener("pause", function () {
        var w = watched[id];
        if (w && w.since) { w.ms += performance.now() - w.since; w.since = 0; }
        sendWatch(id);
      });
    }
    var b = $(".unmute", card);
    if (b) {
      syncMute(card);
      b.addEventListener("click", function () {
        v.muted = !v.muted;
        unmuted = !v.muted;
        sessionStorage.setItem("shortstack.sound", unmuted ? "on" : "off");
        if (v.paused) v.play().catch(function () {});
        syncMute(card);
      });
    }
    var reveal = $(".reveal", card);
    if (reveal) reveal.addEventListener("click", function (e) {
      e.preventDefault();
      unveil(card);
      play(card);
    });
    $$("[data-act]", card).forEach(function (btn) {
      btn.addEventListener("click", function (e) { act(btn.dataset.act, card, btn, e); });
    });
  }

  function setCount(card, kind, n) {
    var s = $("[data-count=" + kind + "]", card);
    if (s) { s.dataset.n = String(n); s.textContent = fmt(n); }
  }

  function act(kind, card, btn, e) {
    var id = card.dataset.id, handle = card.dataset.author;
    if (kind === "comments") { if ($("[data-sheet]")) { e.preventDefault(); openComments(card); } return; }
    if (kind === "share") {
      api("POST", "/api/videos/" + id + "/share").then(function (r) {
        setCount(card, "shares", r.shares);
        if (navigator.share) navigator.share({ url: r.url }).catch(function () {});
        else if (navigator.clipboard) navigator.clipboard.writeText(r.url).then(function () { toast("Link copied: " + r.url); }, function () { toast(r.url); });
        else toast(r.url);
      }).catch(function (err) { toast(err.message); });
      return;
    }
    if (needLogin()) return;
    if (kind === "like") {
      var on = btn.getAttribute("aria-pressed") !== "true";
      api(on ? "PUT" : "DELETE", "/api/videos/" + id + "/like").then(function (r) {
        btn.setAttribute("aria-pressed", r.liked ? "true" : "false");
        setCount(card, "likes", r.likes);
      }).catch(function (err) { toast(err.message); });
    } else if (kind === "follow") {
      var following = btn.getAttribute("aria-pressed") === "true";
      api(following ? "DELETE" : "PUT", "/api/users/" + handle + "/follow").then(function () {
        btn.setAttribute("aria-pressed", following ? "false" : "true");
        btn.textContent = following ? "+" : "✓";
        $$(".card[data-author='" + handle + "'] .follow").forEach(function (b) {
          b.setAttribute("aria-pressed", following ? "false" : "true");
          b.textContent = following ? "+" : "✓";
        });
        document.dispatchEvent(new CustomEvent("shortstack:follow", { detail: { handle: handle, on: !following } }));
        toast((following ? "Unfollowed @" : "Following @") + handle);
      }).catch(function (err) { toast(err.message); });
    } else if (kind === "more") {
      openMenu(card);
    }
  }

  /* ---- the bottom sheet: comments thread, the more menu ---- */
  function sheet(title) {
    var d = $("[data-sheet]");
    $("[data-sheet-title]", d).textContent = title;
    var body = $("[data-sheet-body]", d);
    body.textContent = "";
    if (!d.open) d.showModal();
    return body;
  }

  function commentItem(c, card) {
    var li = el("li", {}, [
      el("a", { "class": "who", href: c.author ? "/u/" + c.author.handle : "#", text: c.author ? c.author.display_name : "[deleted]" }),
      el("span", { "class": "body" }, [linkified(c.body)])
    ]);
    var reply = el("button", { type: "button", "class": "linkbtn reply", text: "Reply" });
    reply.addEventListener("click", function () {
      var f = $("[data-sheet] form");
      if (f) { f.dataset.parent = c.id; f.elements.body.placeholder = "Reply to " + (c.author ? "@" + c.author.handle : "comment"); f.elements.body.focus(); }
    });
    li.appendChild(reply);
    if (c.reply_count) {
      var more = el("button", { type: "button", "class": "linkbtn", text: c.reply_count + (c.reply_count === 1 ? " reply" : " replies") });
      more.addEventListener("click", function () {
        more.remove();
        api("GET", "/api/videos/" + card.dataset.id + "/comments?limit=50&parent_id=" + encodeURIComponent(c.id)).then(function (page) {
          var ol = el("ol");
          page.items.forEach(function (r) { ol.appendChild(commentItem(r, card)); });
          li.appendChild(ol);
        });
      });
      li.appendChild(more);
    }
    return li;
  }

  function openComments(card) {
    var body = sheet("Comments"), id = card.dataset.id;
    var list = el("ol", { "class": "thread", "aria-live": "polite" });
    body.appendChild(list);
    api("GET", "/api/videos/" + id + "/comments?limit=50").then(function (page) {
      if (!page.items.length) list.appendChild(el("li", { "class": "empty", text: "No comments yet." }));
      page.items.forEach(function (c) { list.appendChild(commentItem(c, card)); });
    }).catch(function (err) { toast(err.message); });
    if (!token()) { body.appendChild(el("p", {}, [el("a", { href: "/login", text: "Log in" }), " to comment."])); return; }
    var input = el("input", { name: "body", maxlength: "2000", required: "", "aria-label": "Add a comment", placeholder: "Add a comment" });
    var form = el("form", {}, [input, el("button", { type: "submit", "class": "button", text: "Send" })]);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var data = { body: input.value };
      if (form.dataset.parent) data.parent_id = form.dataset.parent;
      api("POST", "/api/videos/" + id + "/comments", data).then(function (c) {
        input.value = ""; delete form.dataset.parent; input.placeholder = "Add a comment";
        var empty = $(".empty", list); if (empty) empty.remove();
        list.appendChild(commentItem(c, card));
        var n = $("[data-count=comments]", card);  /* data-n: the exact count (text is 1.2K) */
        if (n && !data.parent_id) setCount(card, "comments", (parseInt(n.dataset.n, 10) || 0) + 1);
      }).catch(function (err) { toast(err.message); });
    });
    body.appendChild(form);
    input.focus();
  }

  function openMenu(card) {
    var body = sheet("More"), id = card.dataset.id, menu = el("div", { "class": "menu" });
    var why = el("button", { type: "button", "class": "button", text: "Why this video?" });
    why.addEventListener("click", function () {
      var text = card.dataset.explanation || "Trending now: recent likes, comments, shares and views.";
      body.textContent = "";
      body.appendChild(el("p", { text: text }));
      var reasons = card.dataset.reasons ? JSON.parse(card.dataset.reasons) : [];
      if (reasons.length) {
        var ul = el("ul");
        reasons.forEach(function (r) { ul.appendChild(el("li", { text: r.text + " (" + Math.round(r.weight * 100) + " %)" })); });
        body.appendChild(ul);
      }
    });
    var ni = el("button", { type: "button", "class": "button", text: "Not interested" });
    ni.addEventListener("click", function () {
      api("POST", "/api/videos/" + id + "/not-interested").then(function () {
        $("[data-sheet]").close();
        toast("You will see fewer videos like this");
        var next = card.nextElementSibling;
        card.remove();
        if (next) next.scrollIntoView();
      }).catch(function (err) { toast(err.message); });
    });
    menu.appendChild(why);
    menu.appendChild(ni);
    menu.appendChild(el("a", { "class": "button", href: "/v/" + id, text: "Open the video page" }));
    body.appendChild(menu);
    why.focus();
  }

  /* ---- what the signed-in viewer sees on a card: the server draws its pages for nobody ---- */
  var follows = {};  /* author handle -> is_following, asked once per author */
  document.addEventListener("shortstack:follow", function (e) { follows[e.detail.handle] = Promise.resolve(e.detail.on); });
  function followState(card) {
    var handle = card.dataset.author, btn = $(".follow", card);
    if (!token() || !btn) return;
    if (handle === localStorage.getItem(WHO)) { btn.hidden = true; return; }
    if (!(handle in follows)) follows[handle] = api("GET", "/api/users/" + handle).then(function (u) { return !!u.is_following; });
    follows[handle].then(function (on) {
      btn.setAttribute("aria-pressed", on ? "true" : "false");
      btn.textContent = on ? "✓" : "+";
    }).catch(function () {});
  }

  /* the viewer's like and the counts now, once per card drawn by the server (cards built here
     come from the API, asked as the viewer: data-viewer) */
  function viewerState(card) {
    if (!token() || card.dataset.viewer) return;
    card.dataset.viewer = "1";
    api("GET", "/api/videos/" + encodeURIComponent(card.dataset.id)).then(function (v) {
      var like = $(".like", card);
      if (like) like.setAttribute("aria-pressed", v.liked_by_me ? "true" : "false");
      ["likes", "comments", "shares"].forEach(function (k) { setCount(card, k, v.counts[k] || 0); });
    }).catch(function () {});
  }

  /* ---- client-built cards (For You, more pages), the same markup as the server's ---- */
  function buildCard(item) {
    var v = item.video || item;
    var sources = v.renditions.map(function (r) { return Math.min(r.width, r.height) + ":" + r.url; }).join(",");
    var video = el("video", { "class": "player", playsinline: "", loop: "", muted: "", preload: "none", "aria-label": (v.caption || "@" + v.author.handle).slice(0, 80) });
    if (v.poster_url) video.setAttribute("poster", v.poster_url);
    if (v.width && v.height) { video.setAttribute("width", v.width); video.setAttribute("height", v.height); }
    video.muted = true;
    var stage = el("div", { "class": "stage" }, [video]);
    if (v.sensitive) stage.appendChild(el("div", { "class": "cover" }, [
      el("p", {}, [el("strong", { text: "Sensitive content." }), " Its uploader or a moderator marked this video as sensitive."]),
      el("a", { "class": "button reveal", href: "/v/" + v.id + "?reveal=1", text: "Show video" })]));
    stage.appendChild(el("button", { type: "button", "class": "unmute", hidden: "", "aria-pressed": "false", text: "Tap to unmute" }));
    var caption = el("p", { "class": "caption" }, [linkified(v.caption || "")]);
    var info = el("div", { "class": "info" }, [
      el("a", { "class": "author", href: "/u/" + v.author.handle }, [el("strong", { text: v.author.display_name || v.author.handle }), " ", el("span", { text: "@" + v.author.handle })]),
      caption]);
    var count = function (k) { return el("span", { "class": "n", "data-count": k, "data-n": String(v.counts[k] || 0), text: fmt(v.counts[k]) }); };
    var actions = el("div", { "class": "actions", role: "group", "aria-label": "Actions" }, [
      el("button", { type: "button", "class": "act like", "data-act": "like", "aria-pressed": v.liked_by_me ? "true" : "false", "aria-label": "Like" }, [el("span", { "aria-hidden": "true", text: "♥" }), " ", count("likes")]),
      el("a", { "class": "act comments", "data-act": "comments", href: "/v/" + v.id + "#comments", "aria-label": "Comments" }, [el("span", { "aria-hidden": "true", text: "✎" }), " ", count("comments")]),
      el("button", { type: "button", "class": "act share", "data-act": "share", "aria-label": "Share" }, [el("span", { "aria-hidden": "true", text: "↗" }), " ", count("shares")]),
      el("button", { type: "button", "class": "act follow", "data-act": "follow", "aria-label": "Follow @" + v.author.handle, text: "+" }),
      el("button", { type: "button", "class": "act more", "data-act": "more", "aria-label": "More", "aria-haspopup": "true", text: "⋯" })]);
    var card = el("article", { "class": "card" + (v.sensitive ? " is-sensitive" : ""), id: "v-" + v.id, "data-id": v.id, "data-author": v.author.handle, "data-sources": sources, "data-viewer": "1", "aria-label": "Video by " + (v.author.display_name || v.author.handle) }, [stage, info, actions]);
    if (v.hls_url) card.dataset.hls = v.hls_url;
    if (item.explanation) card.dataset.explanation = item.explanation;
    if (item.reasons) card.dataset.reasons = JSON.stringify(item.reasons);
    return card;
  }

  /* ---- the feed ---- */
  function setupFeed(feed) {
    var current = null, loading = false;
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (en) {
        if (en.isIntersecting && en.intersectionRatio >= 0.6) show(en.target);
        else if (en.target === current && en.intersectionRatio < 0.6) pause(en.target);
      });
    }, { root: feed, threshold: [0, 0.6, 1] });

    function show(card) {
      if (current && current !== card) pause(current);
      current = card;
      play(card);
      followState(card);
      viewerState(card);
      var next = card.nextElementSibling;
      if (next && next.classList.contains("card")) ensureSource(next, true);  /* preload the next */
      var cards = $$(".card", feed);
      if (cards.indexOf(card) >= cards.length - 2) more();
    }

    function add(items) {
      items.forEach(function (item) {
        var card = buildCard(item);
        feed.appendChild(card);
        setupCard(card);
        observer.observe(card);
      });
    }

    function more() {
      var cursor = feed.dataset.cursor;
      if (loading || !cursor) return;
      loading = true;
      api("GET", "/api/feed/" + feed.dataset.kind + "?limit=5&cursor=" + encodeURIComponent(cursor)).then(function (page) {
        feed.dataset.cursor = page.next_cursor || "";
        add(page.items);
      }).catch(function () {}).then(function () { loading = false; });
    }

    function start() {
      $$(".card", feed).forEach(function (c) { setupCard(c); observer.observe(c); });
    }

    if (token()) {  /* logged in: For You instead of Trending */
      api("GET", "/api/feed/for-you?limit=5").then(function (page) {
        if (!page.items.length) { start(); return; }
        $$(".card, .empty", feed).forEach(function (c) { c.remove(); });
        feed.dataset.kind = "for-you";
        feed.dataset.cursor = page.next_cursor || "";
        var t = $("[data-feed-title]"); if (t) t.textContent = "For You";
        add(page.items);
      }).catch(start);
    } else start();

    function step(dir) {
      var cards = $$(".card", feed), i = cards.indexOf(current);
      var target = cards[Math.max(0, Math.min(cards.length - 1, i + dir))];
      if (target) target.scrollIntoView({ behavior: "smooth", block: "start" });
    }
    document.addEventListener("keydown", function (e) {
      if (e.target.closest && e.target.closest("input, textarea, dialog")) return;
      if (e.key === "j" || e.key === "ArrowDown") { e.preventDefault(); step(1); }
      else if (e.key === "k" || e.key === "ArrowUp") { e.preventDefault(); step(-1); }
      else if (e.key === "m" && current) { var b = $(".unmute", current); if (b) b.click(); }
      else if (e.key === "l" && current) { var l = $(".like", current); if (l) l.click(); }
    });
  }

  /* ---- account: nav link, log in / register, log out ---- */
  function setupAccount() {
    var a = $("[data-account]"), who = localStorage.getItem(WHO);
    if (a && token() && who) { a.textContent = "@" + who; a.href = "/u/" + who; }
    $$("[data-auth]").forEach(function (form) {
      if (token() && who && form.dataset.auth === "login") {
        var out = el("button", { type: "button", "class": "button", text: "Log out @" + who });
        out.addEventListener("click", function () {
          api("POST", "/api/auth/logout").catch(function () {}).then(function () {
            localStorage.removeItem(KEY); localStorage.removeItem(WHO); location.href = "/";
          });
        });
        form.insertBefore(out, form.firstChild.nextSibling);
      }
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var data = {};
        $$("input", form).forEach(function (i) { if (i.value) data[i.name] = i.value; });
        var path = form.dataset.auth === "login" ? "/api/auth/login" : "/api/auth/register";
        api("POST", path, data).then(function (r) {
          localStorage.setItem(KEY, r.token);
          localStorage.setItem(WHO, r.user.handle);
          var next = new URLSearchParams(location.search).get("next") || "/";
          /* only a path of this site: not "//host" nor "/\\host" (browsers read both as a host) */
          location.href = /^\/(?![\/\\])/.test(next) ? next : "/";
        }).catch(function (err) { $("[data-error]", form).textContent = err.message; });
      });
    });
    var follow = $("[data-follow]");
    if (follow && token()) {
      var handle = follow.dataset.follow;
      if (handle === who) follow.hidden = true;
      api("GET", "/api/users/" + handle).then(function (u) {
        follow.setAttribute("aria-pressed", u.is_following ? "true" : "false");
        follow.textContent = u.is_following ? "Following" : "Follow";
      }).catch(function () {});
    }
    if (follow) follow.addEventListener("click", function () {
      if (needLogin()) return;
      var on = follow.getAttribute("aria-pressed") !== "true";
      api(on ? "PUT" : "DELETE", "/api/users/" + follow.dataset.follow + "/follow").then(function () {
        follow.setAttribute("aria-pressed", on ? "true" : "false");
        follow.textContent = on ? "Following" : "Follow";
      }).catch(function (err) { toast(err.message); });
    });
  }

  /* ---- upload: progress of the bytes, then the transcode's from /api/events ---- */
  function events(onEvent) {
    var ctrl = new AbortController();
    fetch("/api/events", { headers: { Authorization: "Bearer " + token(), Accept: "text/event-stream" }, signal: ctrl.signal })
      .then(function (r) {
        var reader = r.body.getReader(), dec = new TextDecoder(), buf = "";
        function pump() {
          return reader.read().then(function (res) {
            if (res.done) return;
            buf += dec.decode(res.value, { stream: true });
            var parts = buf.split(/\r?\n\r?\n/);
            buf = parts.pop();
            parts.forEach(function (block) {
              var name = "message", data = "";
              block.split(/\r?\n/).forEach(function (line) {
                if (line.indexOf("event:") === 0) name = line.slice(6).trim();
                else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
              });
              if (data) { try { onEvent(name, JSON.parse(data)); } catch (e) { /* not JSON */ } }
            });
            return pump();
          });
        }
        return pump();
      }).catch(function () {});
    return ctrl;
  }

  function setupUpload(form) {
    if (!token()) { $("[data-need-login]", form).hidden = false; }
    var status = $("[data-upload-status]", form), up = $("[data-upload-progress]", form), tc = $("[data-transcode-progress]", form);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (needLogin()) return;
      var videoId = null, done = false, stream, poll;
      function finish(v, failed) {
        if (done) return;
        done = true;
        if (stream) stream.abort();
        clearInterval(poll);
        status.textContent = "";
        if (failed) { status.textContent = "Processing failed: " + (v.error || "unknown error"); return; }
        tc.value = 100;
        status.appendChild(document.createTextNode("Ready: "));
        status.appendChild(el("a", { href: "/v/" + v.id, "data-ready-link": "", text: "watch your video" }));
      }
      stream = events(function (name, data) {
        if (!videoId || data.video_id !== videoId) return;
        if (name === "video.progress") tc.value = Math.round(data.progress * 100);
        else if (name === "video.ready") finish({ id: videoId });
        else if (name === "video.failed") finish({ error: data.error }, true);
      });
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/videos");
      xhr.setRequestHeader("Authorization", "Bearer " + token());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (ev) { if (ev.lengthComputable) up.value = Math.round(100 * ev.loaded / ev.total); };
      xhr.onload = function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (err) { /* empty */ }
        if (xhr.status !== 202) { status.textContent = body.detail || ("Upload failed (" + xhr.status + ")"); stream.abort(); return; }
        up.value = 100;
        videoId = body.id;
        status.textContent = "Uploaded. Processing…";
        poll = setInterval(function () {  /* in case an event came before we knew the id */
          api("GET", "/api/videos/" + videoId).then(function (v) {
            if (v.status === "ready") finish(v);
            else if (v.status === "failed") finish(v, true);
            else tc.value = Math.max(tc.value, Math.round(v.progress * 100));
          }).catch(function () {});
        }, 2000);
      };
      xhr.onerror = function () { status.textContent = "The upload did not go through."; stream.abort(); };
      xhr.send(new FormData(form));
      status.textContent = "Uploading…";
    });
  }

  /* ---- a video page this visitor may not see as anonymous: the owner's processing view ---- */
  function setupGone(box) {
    var m = location.pathname.match(/^\/v\/([\w-]+)$/);
    if (!m || !token()) return;
    api("GET", "/api/videos/" + m[1]).then(function (v) {
      box.textContent = "";
      if (v.status === "processing") {
        box.appendChild(el("h1", { text: "Still processing" }));
        box.appendChild(el("p", { text: "Your video is being prepared (" + Math.round(v.progress * 100) + " %). This page reloads itself." }));
        setTimeout(function () { location.reload(); }, 3000);
      } else if (v.status === "failed") {
        box.appendChild(el("h1", { text: "Video failed" }));
        box.appendChild(el("p", { text: "It could not be processed: " + (v.error || "unknown error") }));
      } else location.reload();
    }).catch(function () {});
  }

  function init() {
    if (document.body.classList.contains("embedpage")) {  /* framed: links open the site in a tab */
      $$("a").forEach(function (a) { a.target = "_blank"; a.rel = "noopener"; });
    }
    setupAccount();
    loadSettings();
    var feed = $("[data-feed]");
    if (feed) setupFeed(feed);
    var single = $("[data-single] .card") || $(".embedpage .card");
    if (single) { setupCard(single); play(single); followState(single); viewerState(single); }
    var opener = $("[data-open-sheet]");
    if (opener && single && $("[data-sheet]")) opener.addEventListener("click", function (e) { e.preventDefault(); openComments(single); });
    $$("[data-sheet] [data-close]").forEach(function (b) { b.addEventListener("click", function () { b.closest("dialog").close(); }); });
    var upload = $("[data-upload]");
    if (upload) setupUpload(upload);
    var gone = $("[data-gone]");
    if (gone) setupGone(gone);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
