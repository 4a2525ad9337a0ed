// Playback monitor shared by the benchmark's player pages (bench_web_players.py).
//
// window.bench.begin(video, freezeMinS) starts the clock; the page's player then loads the
// stream. Startup = the first "playing" event. A stall = after startup, a "waiting" event or
// the playhead (currentTime) standing still for freezeMinS (the same freeze threshold as
// Stallwatch's own stall detector) while neither paused nor ended; it ends when the
// playhead moves again. The Python side polls window.bench.snapshot().
"use strict";
(function () {
  const SAMPLE_MS = 50; // playhead sampling period
  const MIN_ADVANCE_S = 0.01; // smaller playhead changes are rounding, not movement
  const b = {
    ready: false, // the page's player library is loaded
    t0: null,
    startupS: null,
    stalls: [], // [startS, endS | null, bufferedAheadS, cause]
    events: [],
    errors: [],
    positionS: 0,
    ended: false,
  };
  let video = null;
  let freezeMin = 0.35;
  let lastPos = 0;
  let lastMoveS = null;
  let current = null; // the stall in progress

  function now() {
    return (performance.now() - b.t0) / 1000;
  }
  function ahead() {
    const r = video.buffered;
    for (let i = 0; i < r.length; i++) {
      if (r.start(i) <= video.currentTime + 0.1 && video.currentTime < r.end(i)) {
        return r.end(i) - video.currentTime;
      }
    }
    return 0;
  }
  function beginStall(atS, cause) {
    if (current !== null || b.startupS === null || video.ended) return;
    current = [atS, null, ahead(), cause];
    b.stalls.push(current);
  }
  function sample() {
    const t = now();
    const pos = video.currentTime;
    b.positionS = pos;
    b.ended = video.ended;
    if (pos > lastPos + MIN_ADVANCE_S) {
      lastPos = pos;
      lastMoveS = t;
      if (current !== null) {
        current[1] = t;
        current = null;
      }
      return;
    }
    if (lastMoveS !== null && !video.paused && !video.ended && t - lastMoveS >= freezeMin) {
      beginStall(lastMoveS, "frozen");
    }
  }
  b.begin = function (v, freezeMinS) {
    video = v;
    freezeMin = freezeMinS;
    b.t0 = performance.now();
    for (const name of ["loadedmetadata", "canplay", "playing", "waiting", "stalled", "ended", "error"]) {
      video.addEventListener(name, function () {
        b.events.push([name, now(), video.currentTime]);
      });
    }
    video.addEventListener("playing", function () {
      if (b.startupS === null) {
        b.startupS = now();
        lastMoveS = now();
        lastPos = video.currentTime;
      }
    });
    video.addEventListener("waiting", function () {
      beginStall(now(), "waiting");
    });
    setInterval(sample, SAMPLE_MS);
  };
  b.error = function (what) {
    b.errors.push([now(), String(what).slice(0, 300)]);
  };
  b.snapshot = function () {
    return {
      startup_s: b.startupS,
      position_s: b.positionS,
      ended: b.ended,
      now_s: b.t0 === null ? 0 : now(),
      stalls: b.stalls,
      events: b.events.slice(-200),
      errors: b.errors,
    };
  };
  window.bench = b;
})();
