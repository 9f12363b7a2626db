// The zone canvas (see zone_canvas.py): a picture the operator draws one line or polygon on,
// or reshapes a zone on, by mouse, pen or touch. The SVG's viewBox is the frame's own pixels,
// so the picture fits its column at any width while points stay exact; the shape goes back
// as {kind, points} in 0..1 of the frame.
//
// Line: drag from one end to the other (the arrow shows the IN side). Polygon: click or tap
// each corner, then the first corner again (or "Close polygon"). A finished shape: drag a
// corner to move that corner alone, or the shape itself to move it whole.

const SVG = "http://www.w3.org/2000/svg";
const HANDLE_PX = 9;          // a corner's handle, in screen pixels (touch: larger)
const TOUCH_HANDLE_PX = 16;
const MIN_LINE_PX = 8;        // a shorter drag is a click, not a line
const STROKE = "#00e5ff";

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

function build(root, data) {
  root.replaceChildren();
  const svg = el("svg", { viewBox: `0 0 ${data.width} ${data.height}`, class: "picture",
                          role: "img", "aria-label": "Zone drawing area" }, root);
  const image = el("image", { href: data.image, x: 0, y: 0, width: data.width,
                              height: data.height, preserveAspectRatio: "none" }, svg);
  const layer = el("g", {}, svg);
  const bar = document.createElement("div");
  bar.className = "bar";
  const hint = document.createElement("span");
  hint.className = "hint";
  bar.appendChild(hint);
  const buttons = {};
  for (const [act, label] of [["undo", "Undo point"], ["close", "Close polygon"],
                              ["clear", "Clear"]]) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.dataset.act = act;
    bar.appendChild(b);
    buttons[act] = b;
  }
  root.appendChild(bar);
  return { svg, image, layer, hint, buttons };
}

export default function ({ parentElement, data, setStateValue }) {
  const root = parentElement.querySelector(".zone-canvas");
  // A new mode, starting shape or picture size starts afresh; any other rerun keeps what
  // the operator is in the middle of (the picture itself changes as counts are drawn on it).
  let s = root.__zoneCanvas;
  if (!s || s.sig !== data.sig) {
    const w = data.width, h = data.height;
    s = root.__zoneCanvas = {
      sig: data.sig, mode: data.mode, w, h,
      pts: (data.points || []).map(([x, y]) => [x * w, y * h]),
      done: !!data.points, drag: null, hover: null, ui: build(root, data),
    };
  }
  const { svg, image, layer, hint, buttons } = s.ui;
  if (image.getAttribute("href") !== data.image) image.setAttribute("href", data.image);
  const W = s.w, H = s.h;

  const scale = () => W / Math.max(1, svg.getBoundingClientRect().width);  // frame px / screen px
  const toFrame = (e) => {
    const p = svg.createSVGPoint();
    p.x = e.clientX; p.y = e.clientY;
    const q = p.matrixTransform(svg.getScreenCTM().inverse());
    return [Math.min(W, Math.max(0, q.x)), Math.min(H, Math.max(0, q.y))];
  };
  const dist = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);
  const reach = (e) => (e.pointerType === "touch" ? TOUCH_HANDLE_PX : HANDLE_PX) * 1.6 * scale();
  const corner = (p, e) => {
    let best = -1, bestD = reach(e);
    s.pts.forEach((q, i) => { const d = dist(p, q); if (d <= bestD) { best = i; bestD = d; } });
    return best;
  };
  const onShape = (p, e) => {
    if (s.mode === "line") {
      const [a, b] = s.pts, L = dist(a, b) || 1;
      const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * (b[0] - a[0]) + (p[1] - a[1]) * (b[1] - a[1])) / (L * L)));
      return dist(p, [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]) <= reach(e);
    }
    let inside = false;                       // even-odd rule
    for (let i = 0, j = s.pts.length - 1; i < s.pts.length; j = i++) {
      const [xi, yi] = s.pts[i], [xj, yj] = s.pts[j];
      if ((yi > p[1]) !== (yj > p[1]) && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };
  const send = () => setStateValue("shape", s.done ? {
    kind: s.mode, points: s.pts.map(([x, y]) => [+(x / W).toFixed(4), +(y / H).toFixed(4)]),
  } : null);

  function render() {
    layer.replaceChildren();
    const k = scale(), r = HANDLE_PX * k, pts = s.pts;
    const line = { stroke: STROKE, "stroke-width": 3, "vector-effect": "non-scaling-stroke",
                   fill: "none", "stroke-linecap": "round", "stroke-linejoin": "round" };
    if (s.mode === "line" && pts.length === 2) {
      const [a, b] = pts;
      el("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1], class: "shape", ...line }, layer);
      const L = dist(a, b);
      if (L > 0) {   // IN is to the right of the way the line was drawn (down for left->right)
        const m = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
        const n = [-(b[1] - a[1]) / L, (b[0] - a[0]) / L], len = 28 * k;
        const tip = [m[0] + n[0] * len, m[1] + n[1] * len];
        el("line", { x1: m[0], y1: m[1], x2: tip[0], y2: tip[1], ...line }, layer);
        const side = [n[1] * 7 * k, -n[0] * 7 * k], back = [n[0] * 10 * k, n[1] * 10 * k];
        el("polygon", { points: [tip, [tip[0] - back[0] + side[0], tip[1] - back[1] + side[1]],
                                 [tip[0] - back[0] - side[0], tip[1] - back[1] - side[1]]]
                                 .map((q) => q.join(",")).join(" "), fill: STROKE }, layer);
        const label = el("text", { x: tip[0] + n[0] * 12 * k, y: tip[1] + n[1] * 12 * k,
                                   "font-size": 13 * k, fill: STROKE, "text-anchor": "middle",
                                   "dominant-baseline": "middle", "font-weight": "bold" }, layer);
        label.textContent = "IN";
      }
    } else if (s.mode === "polygon" && pts.length) {
      const shown = !s.done && s.hover ? [...pts, s.hover] : pts;
      el(s.done ? "polygon" : "polyline", { points: shown.map((q) => q.join(",")).join(" "),
                                            class: "shape", ...line,
                                            fill: s.done ? "rgba(0, 229, 255, 0.18)" : "none" },
         layer);
    }
    pts.forEach((q, i) => el("circle", { cx: q[0], cy: q[1], r, class: "corner", "data-i": i,
                                         fill: i === 0 && !s.done ? STROKE : "white",
                                         stroke: STROKE, "stroke-width": 2,
                                         "vector-effect": "non-scaling-stroke" }, layer));
    const polygon = s.mode === "polygon";
    buttons.undo.hidden = !polygon || s.done || !pts.length;
    buttons.close.hidden = !polygon || s.done;
    buttons.close.disabled = pts.length < 3;
    buttons.clear.disabled = !pts.length;
    hint.textContent = s.done
      ? "Drag a corner to move it alone, or the shape to move it whole."
      : polygon
        ? (pts.length < 3 ? "Click or tap each corner of the area."
                          : "Click the first corner (or Close polygon) to finish.")
        : "Drag from one end of the line to the other; the arrow shows the IN side.";
  }

  svg.onpointerdown = (e) => {
    if (e.button > 0) return;
    e.preventDefault();
    const p = toFrame(e);
    svg.setPointerCapture(e.pointerId);
    const i = s.pts.length ? corner(p, e) : -1;
    if (s.done && i >= 0) {
      s.drag = { type: "corner", i };
    } else if (s.done && onShape(p, e)) {
      s.drag = { type: "move", from: p, orig: s.pts.map((q) => [...q]) };
    } else if (s.mode === "line" && !s.done) {
      s.pts = [p, [...p]];
      s.drag = { type: "new", e0: [e.clientX, e.clientY] };
    } else if (s.mode === "polygon" && !s.done) {
      s.drag = { type: "click", p, close: s.pts.length >= 3 && i === 0, i };
    }
    render();
  };
  svg.onpointermove = (e) => {
    const p = toFrame(e), d = s.drag;
    if (!d) {
      if (s.mode === "polygon" && !s.done && s.pts.length) { s.hover = p; render(); }
      return;
    }
    if (d.type === "corner") s.pts[d.i] = p;
    else if (d.type === "new") s.pts[1] = p;
    else if (d.type === "move") {
      let dx = p[0] - d.from[0], dy = p[1] - d.from[1];
      // The whole shape stays inside the picture.
      dx = Math.max(-Math.min(...d.orig.map((q) => q[0])), Math.min(W - Math.max(...d.orig.map((q) => q[0])), dx));
      dy = Math.max(-Math.min(...d.orig.map((q) => q[1])), Math.min(H - Math.max(...d.orig.map((q) => q[1])), dy));
      s.pts = d.orig.map(([x, y]) => [x + dx, y + dy]);
    } else if (d.type === "click" && d.i >= 0 && !d.close) {
      s.pts[d.i] = p;           // a corner of an unfinished polygon drags too
      d.moved = true;
    }
    render();
  };
  svg.onpointerup = svg.onpointercancel = (e) => {
    const d = s.drag;
    s.drag = null;
    if (!d) return;
    if (d.type === "new") {
      const moved = Math.hypot(e.clientX - d.e0[0], e.clientY - d.e0[1]);
      if (moved >= MIN_LINE_PX && e.type === "pointerup") { s.done = true; send(); }
      else s.pts = [];
    } else if (d.type === "click" && e.type === "pointerup") {
      if (d.close) { s.done = true; s.hover = null; send(); }
      else if (!d.moved && d.i < 0) s.pts.push(d.p);
    } else if (d.type === "corner" || d.type === "move") {
      send();
    }
    render();
  };
  svg.onpointerleave = () => { if (s.hover) { s.hover = null; render(); } };
  buttons.undo.onclick = () => { s.pts.pop(); render(); };
  buttons.close.onclick = () => {
    if (s.pts.length >= 3) { s.done = true; s.hover = null; send(); render(); }
  };
  buttons.clear.onclick = () => { s.pts = []; s.done = false; s.hover = null; send(); render(); };

  // Handles keep their size on screen when the column changes width.
  if (!s.resize) {
    s.resize = new ResizeObserver(() => render());
    s.resize.observe(svg);
  }
  render();
}
