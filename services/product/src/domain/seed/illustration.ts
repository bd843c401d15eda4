import { GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from "./font.js";
import { encodePng } from "./png.js";

type Rgb = [number, number, number];

export const ILLUSTRATION_WIDTH = 480;
export const ILLUSTRATION_HEIGHT = 360;

/** Colours per category; an unknown category gets a colour derived from its name. */
const PALETTES: Record<string, [Rgb, Rgb]> = {
  audio: [
    [76, 29, 149],
    [147, 51, 234],
  ],
  computers: [
    [15, 52, 96],
    [37, 99, 235],
  ],
  kitchen: [
    [154, 52, 18],
    [234, 88, 12],
  ],
  outdoor: [
    [20, 83, 45],
    [22, 163, 74],
  ],
  books: [
    [113, 63, 18],
    [202, 138, 4],
  ],
  fitness: [
    [159, 18, 57],
    [225, 29, 72],
  ],
};

function paletteOf(category: string): [Rgb, Rgb] {
  const known = PALETTES[category.toLowerCase()];
  if (known) return known;
  let h = 0;
  for (const c of category) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const base: Rgb = [40 + (h % 120), 40 + ((h >> 8) % 120), 40 + ((h >> 16) % 120)];
  return [base, base.map((v) => Math.min(255, v + 80)) as Rgb];
}

/** Splits `text` into lines of at most `width` characters, at spaces where it can. */
function wrap(text: string, width: number, maxLines: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (candidate.length <= width) line = candidate;
    else {
      if (line) lines.push(line);
      line = word.slice(0, width);
    }
  }
  if (line) lines.push(line);
  return lines.slice(0, maxLines);
}

/**
 * A product illustration: a gradient in the category's colours, soft circles, the category in
 * small capitals and the product name in large ones. Deterministic: same input, same bytes.
 */
export function illustrate(name: string, category: string): Buffer {
  const w = ILLUSTRATION_WIDTH;
  const h = ILLUSTRATION_HEIGHT;
  const px = new Uint8Array(w * h * 3);
  const [top, bottom] = paletteOf(category);
  const set = (x: number, y: number, c: Rgb) => {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    px.set(c, (y * w + x) * 3);
  };
  const blend = (x: number, y: number, c: Rgb, alpha: number) => {
    const i = (y * w + x) * 3;
    set(x, y, [0, 1, 2].map((k) => Math.round(px[i + k]! * (1 - alpha) + c[k]! * alpha)) as Rgb);
  };

  for (let y = 0; y < h; y++) {
    const t = y / (h - 1);
    const c = [0, 1, 2].map((k) => Math.round(top[k]! * (1 - t) + bottom[k]! * t)) as Rgb;
    for (let x = 0; x < w; x++) set(x, y, c);
  }

  // Two circles whose place depends on the name, so products of a category differ at a glance.
  let seed = 0;
  for (const c of name) seed = (seed * 33 + c.charCodeAt(0)) >>> 0;
  const circles = [
    { cx: 330 + (seed % 90), cy: 60 + ((seed >> 7) % 80), r: 90 + ((seed >> 3) % 50) },
    { cx: 40 + ((seed >> 11) % 90), cy: 280 + ((seed >> 5) % 60), r: 60 + ((seed >> 13) % 40) },
  ];
  for (const { cx, cy, r } of circles) {
    for (let y = Math.max(0, cy - r); y < Math.min(h, cy + r); y++) {
      for (let x = Math.max(0, cx - r); x < Math.min(w, cx + r); x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) blend(x, y, [255, 255, 255], 0.12);
      }
    }
  }

  const text = (s: string, x0: number, y0: number, scale: number, colour: Rgb) => {
    [...s].forEach((char, i) => {
      glyph(char).forEach((row, gy) => {
        row.forEach((on, gx) => {
          if (!on) return;
          for (let dy = 0; dy < scale; dy++) {
            for (let dx = 0; dx < scale; dx++) {
              set(x0 + (i * (GLYPH_WIDTH + 1) + gx) * scale + dx, y0 + gy * scale + dy, colour);
            }
          }
        });
      });
    });
  };

  text(category.toUpperCase(), 28, 28, 3, [255, 255, 255]);
  const scale = 4;
  const cell = (GLYPH_WIDTH + 1) * scale;
  const lines = wrap(name.toUpperCase(), Math.floor((w - 56) / cell), 4);
  const lineHeight = (GLYPH_HEIGHT + 3) * scale;
  const startY = Math.round((h - lines.length * lineHeight) / 2) + 20;
  lines.forEach((line, i) => {
    const x = Math.round((w - (line.length * cell - scale)) / 2);
    text(line, x + 3, startY + i * lineHeight + 3, scale, [0, 0, 0]);
    text(line, x, startY + i * lineHeight, scale, [255, 255, 255]);
  });
  return encodePng(w, h, px);
}
